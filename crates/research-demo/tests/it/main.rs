//! research-demo's integration tests, one module per concern. They talk only to loopback: the
//! recorded fixtures, servers that misbehave on purpose, and this crate's binary as a process.

mod arxiv_api;
mod arxiv_server;
mod call;
mod chat;
mod common;
mod demo;
mod exits;
mod keep_alive;
mod login;
mod outside_clients;
mod props;
mod redirects;
mod route;
mod servers;
mod shell;
mod sources;
mod tools;
mod wikipedia_server;
