//! One module per subcommand.

pub mod catalog;
pub mod mock;
pub mod simulate;
