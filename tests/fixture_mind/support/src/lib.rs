//! A dependency of the fixture crate that no fixture commit changes: with a shared
//! target directory cargo must compile it once, for the first commit only.

/// The IR version string the real MIND prints in `mindc --version`.
pub const CORE_IR_VERSION: &str = "1.0";
