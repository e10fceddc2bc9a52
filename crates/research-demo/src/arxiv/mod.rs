//! Everything arXiv: the Atom feed of its API, and a client of the API.

pub mod api;
pub mod atom;
