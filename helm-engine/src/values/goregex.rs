//! Go's regular expression syntax for the schema's `pattern`, `patternProperties` and
//! `format: regex`: the translation the template functions use too (see
//! [`crate::funcs::goregex`]).

pub(super) use crate::funcs::goregex::{compile, translate};
