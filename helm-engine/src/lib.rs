//! Helm v3 chart engine: loads charts (directories and archives), coalesces values as Helm does,
//! executes Go text/template with Sprig and Helm's functions, and renders manifests exactly as
//! `helm template` prints them.
//!
//! It owns chart files, values, templates and rendering. It must not know about Kubernetes
//! clients, clusters or release storage backends: callers hand it bytes and get text back.

pub mod chart;
pub mod error;
pub mod funcs;
pub mod release;
pub mod render;
pub mod template;
pub mod value;
pub mod values;
pub mod yaml;

pub use error::{Error, Result};
pub use value::Value;
