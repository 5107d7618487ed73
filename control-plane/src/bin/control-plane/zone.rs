//! `control-plane zone`: the zones (TLDs) the registry runs, and their grace periods and
//! transfer policy.

use anyhow::{Context, Result};
use control_plane::model::{Lifecycle, Nameserver, Prices, TransferDefault, ZoneSettings};
use control_plane::operator;
use control_plane::store::{Store, sqlite};
use zonefiles::ZoneName;

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a zone.
    Add {
        /// Its name, e.g. `name`.
        origin: ZoneName,
        /// Registration level: 2 (example.tld) or 3 (john.smith.name).
        #[arg(long, default_value_t = 2)]
        level: u8,
        /// An apex name server, `host` or `host=address,address` (repeatable).
        #[arg(long = "ns")]
        nameservers: Vec<String>,
        /// Price of a registration year, in cents; also of a renewal year, a transfer and a
        /// restore until `zone prices` sets them apart.
        #[arg(long, default_value_t = 600)]
        price: i64,
        /// Serial policy: counter, unix-time or date-counter.
        #[arg(long, default_value = "counter")]
        serial_policy: String,
        /// First serial.
        #[arg(long, default_value_t = 1)]
        serial: u32,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
    },
    /// Set a zone's grace periods and transfer policy (RFC 3915), changing only the values given; gTLDs
    /// use add, renew and transfer grace 5, auto-renew grace 45, redemption 30, pending delete 5
    /// and a transfer timeout of 5 days, approved by default.
    Grace {
        /// The zone.
        origin: ZoneName,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
    },
    /// Set a zone's prices, in cents, changing only those given.
    Prices {
        /// The zone.
        origin: ZoneName,
        /// A year of registration.
        #[arg(long)]
        create: Option<i64>,
        /// A year of renewal (by the registrar or at expiry).
        #[arg(long)]
        renew: Option<i64>,
        /// A transfer (with the year it adds).
        #[arg(long)]
        transfer: Option<i64>,
        /// A restore of a deleted domain (RFC 3915).
        #[arg(long)]
        restore: Option<i64>,
    },
    /// List zones with their serials and prices.
    List,
}

/// A zone's grace periods and transfer policy; a value not given keeps the zone's (for a new
/// zone, the default).
#[derive(clap::Args)]
pub struct LifecycleArgs {
    /// Days after a registration in which deleting it refunds it (add grace) [default: 0]
    #[arg(long)]
    add_grace_days: Option<u32>,
    /// Days after a renewal in which deleting the domain refunds the renewal [default: 0]
    #[arg(long)]
    renew_grace_days: Option<u32>,
    /// Days after a transfer in which deleting the domain refunds the transfer [default: 0]
    #[arg(long)]
    transfer_grace_days: Option<u32>,
    /// Renew domains at their expiry (charged), refunded if deleted or transferred within this
    /// many days (0: no renewal at expiry) [default: 0]
    #[arg(long)]
    auto_renew_grace_days: Option<u32>,
    /// Days a deleted domain stays restorable (redemption; 0: a deletion frees the name at
    /// once) [default: 0]
    #[arg(long)]
    redemption_days: Option<u32>,
    /// Days after the redemption period before the name is free [default: 5]
    #[arg(long)]
    pending_delete_days: Option<u32>,
    /// Days the sponsoring registrar has to answer a transfer request (0: a request with the
    /// domain password completes at once) [default: 0]
    #[arg(long)]
    transfer_timeout_days: Option<u32>,
    /// What an unanswered transfer request becomes: approve or reject [default: approve]
    #[arg(long, value_parser = parse_transfer_default)]
    transfer_default: Option<TransferDefault>,
    /// Days after a registration or a transfer in which the domain cannot be transferred
    /// (ICANN's transfer policy: 60) [default: 0]
    #[arg(long)]
    transfer_lock_days: Option<u32>,
}

impl LifecycleArgs {
    fn apply(&self, policy: &mut Lifecycle) {
        let days = [
            (self.add_grace_days, &mut policy.add_grace_days),
            (self.renew_grace_days, &mut policy.renew_grace_days),
            (self.transfer_grace_days, &mut policy.transfer_grace_days),
            (
                self.auto_renew_grace_days,
                &mut policy.auto_renew_grace_days,
            ),
            (self.redemption_days, &mut policy.redemption_days),
            (self.pending_delete_days, &mut policy.pending_delete_days),
            (
                self.transfer_timeout_days,
                &mut policy.transfer_timeout_days,
            ),
            (self.transfer_lock_days, &mut policy.transfer_lock_days),
        ];
        for (given, field) in days {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(default) = self.transfer_default {
            policy.transfer_default = default;
        }
    }
}

fn parse_transfer_default(text: &str) -> Result<TransferDefault, String> {
    TransferDefault::parse(text).ok_or_else(|| format!("{text:?}: approve or reject"))
}

/// Carries out a zone command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let (config, who) = (&env.config, env.who.as_str());
    match command {
        Command::Add {
            origin,
            level,
            nameservers,
            price,
            serial_policy,
            serial,
            lifecycle,
        } => {
            let mut zone = ZoneSettings::new(origin);
            lifecycle.apply(&mut zone.lifecycle);
            zone.level = level;
            zone.prices = Prices::all(price);
            zone.serial = serial;
            zone.serial_policy = sqlite::parse_policy(&serial_policy).with_context(|| {
                format!(
                    "{serial_policy:?}: the serial policy is counter, unix-time or date-counter"
                )
            })?;
            zone.apex_nameservers = nameservers
                .iter()
                .map(|n| parse_nameserver(n))
                .collect::<Result<_>>()?;
            if let Some(first) = zone.apex_nameservers.first() {
                zone.mname = first.name.clone();
            }
            let signer = config.signer()?;
            operator::add_zone(&mut open(config)?, &signer, &zone, who)?;
            println!(
                "zone {} added (level {level}, serial {serial})",
                zone.origin
            );
            Ok(())
        }
        Command::Grace { origin, lifecycle } => {
            let mut conn = open(config)?;
            let mut policy = conn
                .zones()?
                .into_iter()
                .find(|z| z.origin == origin)
                .with_context(|| format!("the registry does not run {origin} (see `zone list`)"))?
                .lifecycle;
            lifecycle.apply(&mut policy);
            operator::set_lifecycle(&mut conn, &origin, &policy, who)?;
            println!("zone {origin}: {}", operator::describe_lifecycle(&policy));
            Ok(())
        }
        Command::Prices {
            origin,
            create,
            renew,
            transfer,
            restore,
        } => {
            let mut conn = open(config)?;
            let mut prices = conn
                .zones()?
                .into_iter()
                .find(|z| z.origin == origin)
                .with_context(|| format!("the registry does not run {origin} (see `zone list`)"))?
                .prices;
            for (given, field) in [
                (create, &mut prices.create),
                (renew, &mut prices.renew),
                (transfer, &mut prices.transfer),
                (restore, &mut prices.restore),
            ] {
                if let Some(value) = given {
                    anyhow::ensure!(value >= 0, "a price is 0 or more cents");
                    *field = value;
                }
            }
            operator::set_prices(&mut conn, &origin, &prices, who)?;
            println!("zone {origin}: {prices}");
            Ok(())
        }
        Command::List => {
            for zone in open(config)?.zones()? {
                println!(
                    "{}\tlevel {}\tserial {}\t{}",
                    zone.origin, zone.level, zone.serial, zone.prices
                );
            }
            Ok(())
        }
    }
}

fn parse_nameserver(text: &str) -> Result<Nameserver> {
    let (name, addresses) = text.split_once('=').unwrap_or((text, ""));
    Ok(Nameserver {
        name: name.trim_end_matches('.').to_ascii_lowercase(),
        addresses: addresses
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse()
                    .with_context(|| format!("{a:?} is not an IP address"))
            })
            .collect::<Result<_>>()?,
    })
}
