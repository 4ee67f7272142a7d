//! Legal deadlines in working days: the one rule every side counts with lives in
//! [`crate::shared::deadline`] (receipt = sealing time, the 15:00 rule, weekends and the holiday
//! calendar); casework uses it under its former name.

pub use crate::shared::deadline::*;
