//! Temporary stub: replaced by the real parser.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Element {
    pub ai: String,
    pub title: &'static str,
    pub value: String,
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    #[error("gs1 stub")]
    Stub,
}
impl Gs1Error {
    pub fn code(&self) -> &'static str {
        "gs1_stub"
    }
}
pub fn parse(_data: &str) -> Result<Vec<Element>, Gs1Error> {
    Err(Gs1Error::Stub)
}
pub fn parse_bracketed(_s: &str) -> Result<Vec<Element>, Gs1Error> {
    Err(Gs1Error::Stub)
}
pub fn looks_bracketed(s: &str) -> bool {
    s.starts_with('(')
}
pub fn to_raw(_e: &[Element]) -> String {
    String::new()
}
pub fn to_bracketed(_e: &[Element]) -> String {
    String::new()
}
pub fn check_digit(_p: &str) -> Option<u8> {
    None
}
