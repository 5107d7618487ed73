//! `control-plane domain`: what the registry's staff do to a domain apart from its registrar —
//! holds, locks, suspensions, releases and transfers — each for a named case.

use anyhow::Result;
use control_plane::model::{Case, Reason};
use control_plane::operator;
use control_plane::registry::StaffAction;

use crate::{Env, open};

/// The case an action is taken for.
#[derive(clap::Args)]
pub struct CaseArgs {
    /// The reason class: abuse, udrp, urs, court-order, registry-lock (at the registrar's
    /// request; lifted only with --confirmation) or other.
    #[arg(long, value_parser = reason)]
    reason: Reason,
    /// The case's reference (a ticket, a dispute's number, a court's docket), kept in the
    /// domain's history.
    #[arg(long)]
    reference: String,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Take a domain out of the DNS (serverHold); WHOIS and RDAP show it.
    Hold {
        /// The domain.
        name: String,
        #[command(flatten)]
        case: CaseArgs,
    },
    /// Refuse every change, deletion and transfer of a domain (serverUpdateProhibited,
    /// serverDeleteProhibited, serverTransferProhibited): a registry lock or a dispute's lock.
    Lock {
        /// The domain.
        name: String,
        #[command(flatten)]
        case: CaseArgs,
    },
    /// Both: out of the DNS and locked.
    Suspend {
        /// The domain.
        name: String,
        #[command(flatten)]
        case: CaseArgs,
    },
    /// Clear every status the registry set on a domain.
    Release {
        /// The domain.
        name: String,
        #[command(flatten)]
        case: CaseArgs,
        /// For a registry lock: the reference of the confirmation made out of band with the
        /// registrar (a call back, a signed request).
        #[arg(long)]
        confirmation: Option<String>,
    },
    /// Move a domain to another registrar (a dispute's decision, a court order): no charge, its
    /// expiry unchanged, a pending transfer cancelled, its password cleared.
    Transfer {
        /// The domain.
        name: String,
        /// The gaining registrar's id.
        #[arg(long)]
        to: u32,
        #[command(flatten)]
        case: CaseArgs,
    },
}

fn reason(text: &str) -> Result<Reason, String> {
    Reason::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

/// Carries out a domain command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let (name, action, case) = match command {
        Command::Hold { name, case } => (name, StaffAction::Hold, case),
        Command::Lock { name, case } => (name, StaffAction::Lock, case),
        Command::Suspend { name, case } => (name, StaffAction::Suspend, case),
        Command::Release {
            name,
            case,
            confirmation,
        } => (name, StaffAction::Release { confirmation }, case),
        Command::Transfer { name, to, case } => (name, StaffAction::Transfer { to }, case),
    };
    let case = Case {
        reason: case.reason,
        reference: case.reference,
    };
    let mut conn = open(&env.config)?;
    let signer = env.config.signer()?;
    println!(
        "{}",
        operator::act_on_domain(&mut conn, &signer, &name, &action, &case, &env.who)?
    );
    Ok(())
}
