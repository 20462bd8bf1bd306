//! Unit tests of the function library through templates.
