//! `synth`: generated label frames with ground truth (being written).
