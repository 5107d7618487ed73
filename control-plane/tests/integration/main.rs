//! Integration tests: the `control-plane` binary set up by its own commands, served on
//! loopback, and spoken to over real TLS (our client, and `openssl s_client`).

mod crash;
mod epp;
mod export;
mod fixture;
mod import;
mod netns;
mod push;
mod recovery;
mod satellite;
mod srrp;
