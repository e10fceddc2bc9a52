//! Everything arXiv: the Atom feed of its API.

pub mod atom;
