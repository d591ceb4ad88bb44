//! Temporary stub: replaced by the real parser.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataField {
    pub di: String,
    pub title: &'static str,
    pub value: String,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    Format06(Vec<DataField>),
    Format05(Vec<super::gs1::Element>),
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiError {
    #[error("di stub")]
    Stub,
}
impl DiError {
    pub fn code(&self) -> &'static str {
        "di_stub"
    }
}
pub fn is_envelope(s: &str) -> bool {
    s.starts_with("[)>")
}
pub fn parse_envelope(_s: &str) -> Result<Envelope, DiError> {
    Err(DiError::Stub)
}
pub fn split_di(_f: &str) -> Option<DataField> {
    None
}
