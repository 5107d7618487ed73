//! `control-plane import`: SRRP commands from a file, carried out as the registrars they name,
//! through the same registry rules as SRRP ([`crate::publish::writer::carry_out`]), many to a
//! transaction. For bringing a registry's domains in from another system, and for sample data.
//!
//! One command per line, `#` comments and blank lines ignored:
//!
//! ```text
//! <registrar-id> <COMMAND> <OBJECT> attribute=value …
//! 1001 CREATE DOMAIN domain-name=john.smith.name ns1-name=ns.example.net ns2-name=ns.example.org
//! ```
//!
//! The operator acts for the registrar (no `registrar-auth`); credit, blocks and every other
//! rule apply as over SRRP, and every change goes into the journal as signed changesets (one
//! per zone per transaction), so satellites receive an import like any other change. A
//! `domain-auth` is hashed with Argon2 as over SRRP (about 30 ms each); transfers cannot be
//! imported. A refused command changes nothing and is reported with its line; the others are
//! committed. Run it while the control plane is stopped: a running push service notices the
//! new journal entries only at its next commit.

use std::io::BufRead;

use anyhow::{Context as _, bail};
use rusqlite::Connection;

use crate::front::srrp::grammar::{Request, VERSION};
use crate::front::srrp::translate::{self, Secret};
use crate::model::Registrar;
use crate::publish::Publication;
use crate::publish::signing::Signer;
use crate::publish::writer::{self, Outcome};
use crate::registry::{Command, Context};
use crate::store::Store;
use crate::store::sqlite::{Step, transaction};

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Commands carried out.
    pub done: u64,
    /// Transactions committed.
    pub transactions: u64,
    /// Changesets written to the journal.
    pub changesets: u64,
    /// Commands refused: line number and why.
    pub refused: Vec<(usize, String)>,
}

/// An SRRP response on one line: `code text; attribute=value; …`.
fn one_line(response: &crate::front::srrp::grammar::Response) -> String {
    let mut line = format!("{} {}", response.code.number(), response.code.text());
    for (name, value) in &response.attributes {
        line.push_str(&format!("; {name}={value}"));
    }
    line
}

/// The words of a line: split at white space, but a value in double quotes
/// (`ds="12345 13 2 49FD…"`) is one word, without its quotes.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err("a double quote is not closed".into());
    }
    if started {
        out.push(word);
    }
    Ok(out)
}

/// Parses one line into the registrar and its command.
pub fn parse(line: &str) -> Result<(u32, Command), String> {
    let words = words(line)?;
    let mut words = words.iter().map(String::as_str);
    let (Some(registrar), Some(command), Some(object)) = (words.next(), words.next(), words.next())
    else {
        return Err("expected: <registrar-id> <COMMAND> <OBJECT> attribute=value …".into());
    };
    let mut attributes = vec![
        ("registrar-id".to_string(), registrar.to_string()),
        ("registrar-auth".to_string(), String::new()),
    ];
    for word in words {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("{word:?} is not attribute=value"))?;
        attributes.push((name.to_string(), value.to_string()));
    }
    let request = Request {
        command: command.to_ascii_uppercase(),
        object: object.to_ascii_uppercase(),
        protocol: VERSION.to_string(),
        attributes,
    };
    let mut decoded = translate::decode(&request).map_err(|response| one_line(&response))?;
    match std::mem::replace(&mut decoded.secret, Secret::None) {
        Secret::None => {}
        Secret::Hash(password) => match &mut decoded.command {
            Command::CreateDomain { auth_hash, .. } => {
                *auth_hash = Some(crate::front::auth::hash_domain(&password))
            }
            Command::SetPassword { auth_hash, .. } => {
                *auth_hash = crate::front::auth::hash_domain(&password)
            }
            _ => {}
        },
        Secret::Verify(_) => return Err("transfers cannot be imported".into()),
    }
    Ok((decoded.registrar, decoded.command))
}

/// Carries out the commands of `input`, `batch` to a transaction; `progress` is told how many
/// lines have been read after each transaction.
pub fn run(
    conn: &mut Connection,
    signer: &Signer,
    input: impl BufRead,
    batch: usize,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<Imported> {
    let mut imported = Imported::default();
    let mut lines = input.lines().enumerate();
    let mut registrars: std::collections::HashMap<u32, Option<Registrar>> = Default::default();
    let mut read = 0;
    loop {
        let mut commands = Vec::with_capacity(batch);
        for (number, line) in lines.by_ref() {
            let line = line.context("reading the import file")?;
            read = number + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse(line) {
                Ok(command) => commands.push((number + 1, command)),
                Err(error) => imported.refused.push((number + 1, error)),
            }
            if commands.len() == batch.max(1) {
                break;
            }
        }
        if commands.is_empty() {
            imported.refused.sort();
            return Ok(imported);
        }
        let now = ops::now();
        transaction(conn, Step::Begin)?;
        let mut publication = Publication::new();
        for (number, (registrar, command)) in &commands {
            let registrar = match registrars.get(registrar) {
                Some(known) => known.clone(),
                None => {
                    let found = conn.registrar(*registrar)?.filter(|r| r.active);
                    registrars.insert(*registrar, found.clone());
                    found
                }
            };
            let Some(registrar) = registrar else {
                imported
                    .refused
                    .push((*number, "no such active registrar".into()));
                continue;
            };
            let context = Context {
                now,
                registrar: &registrar,
                server_info: &[],
                fee: None,
            };
            match writer::carry_out(conn, &mut publication, &context, command) {
                Outcome::Done(_) => imported.done += 1,
                Outcome::Refused(refusal) => {
                    let text = one_line(&translate::refusal(&refusal));
                    imported.refused.push((*number, text));
                }
                Outcome::Failed(error) => {
                    let _ = transaction(conn, Step::Rollback);
                    bail!("line {number}: the database failed: {error}");
                }
            }
        }
        let entries = publication.finish(conn, now, signer)?;
        transaction(conn, Step::Commit)?;
        imported.transactions += 1;
        imported.changesets += entries.len() as u64;
        progress(read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_in_double_quotes_is_one_word() {
        assert_eq!(
            words(r#"1001 CREATE DOMAIN domain-name=a.tld ds="7 13 2 00FF"  x=y"#).unwrap(),
            [
                "1001",
                "CREATE",
                "DOMAIN",
                "domain-name=a.tld",
                "ds=7 13 2 00FF",
                "x=y"
            ]
        );
        assert_eq!(words("a  b\t").unwrap(), ["a", "b"]);
        assert!(words(r#"1001 CREATE DOMAIN ds="7 13"#).is_err());
        let (registrar, command) = parse(
            r#"1001 CREATE DOMAIN domain-name=a.tld ns1-name=ns.example.net ns2-name=ns.example.org ds="7 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81""#,
        )
        .unwrap();
        assert_eq!(registrar, 1001);
        let Command::CreateDomain { ds, .. } = command else {
            panic!("{command:?}");
        };
        assert_eq!(ds.len(), 1);
    }
}
