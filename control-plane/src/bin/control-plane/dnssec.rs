//! `control-plane dnssec`: signing a zone, and its keys.

use anyhow::{Context, Result};
use control_plane::operator::dnssec;
use control_plane::store::Store;
use zonefiles::sign::keys::{Algorithm, KeyPair, SECURE_ENTRY_POINT, Timing, ZONE_KEY};
use zonefiles::sign::{Denial, bind};
use zonefiles::{Name, ZoneName};

use crate::{Env, open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a key for a zone in `[dnssec] keys` (BIND's files, mode 0600; published and
    /// signing from now): a KSK with --ksk, a ZSK otherwise. Keys in an HSM, and rollovers:
    /// `zonefiles keygen --pkcs11` and `zonefiles rollover` on the same folder.
    Keygen {
        /// The zone.
        zone: ZoneName,
        /// A key-signing key (the secure entry point the parent's DS names).
        #[arg(long)]
        ksk: bool,
        /// ECDSAP256SHA256 (13) or ED25519 (15).
        #[arg(long, default_value = "13")]
        algorithm: u8,
    },
    /// Sign a zone from now on: signed whole beside registrar writes (stored in short
    /// transactions, caught up with the writes made meanwhile) and published in one
    /// changeset, then each change as part of its commit. Its keys must be in `[dnssec] keys`
    /// (`control-plane dnssec keygen ZONE --ksk` and `control-plane dnssec keygen ZONE`).
    /// Killed, it leaves the zone unsigned; run it again.
    On {
        /// The zone.
        zone: ZoneName,
        /// Denial of existence: nsec3-opt-out (a TLD's default: only signed delegations
        /// in the chain), nsec3, or nsec (small zones).
        #[arg(long, default_value = "nsec3-opt-out")]
        denial: String,
    },
    /// Stop signing a zone: it is published without DNSSEC records. Have the parent remove
    /// its DS first, or validating resolvers will fail it.
    Off {
        /// The zone.
        zone: ZoneName,
    },
    /// Roll a zone's KSK by double DS: a successor is made now (in `[dnssec] keys`), and at the
    /// switch the DNSKEY set changes from the current KSK to it, with its CDS and CDNSKEY.
    /// Give the parent the successor's DS (printed) now, beside the current one; drop the old
    /// DS once the switch is older than the DNSKEY TTL.
    RolloverKsk {
        /// The zone.
        zone: ZoneName,
        /// Seconds from now to the switch: at least the time the parent takes to publish the
        /// new DS plus its TTL.
        #[arg(long, default_value_t = 7 * 86_400)]
        switch_in: u64,
    },
    /// Sign a signed zone whole again (after its keys were replaced by hand).
    Resign {
        /// The zone.
        zone: ZoneName,
    },
    /// How a zone is signed: its denial, its keys with their state and times, the DS records
    /// to give the parent, and how many DNSSEC records it holds.
    Status {
        /// The zone.
        zone: ZoneName,
    },
}

/// Turning signing on as it goes: a bar on a terminal, a summary after with each step's time.
struct Progress {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    /// When storing began and the records stored.
    storing: Option<(std::time::Instant, usize)>,
    /// Each catch-up round: when it began and the RRsets it caught up.
    rounds: Vec<(std::time::Instant, usize)>,
}

impl Progress {
    fn new() -> Progress {
        let bar = indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {wide_bar} {pos}/{len}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress {
            bar,
            started: std::time::Instant::now(),
            storing: None,
            rounds: Vec::new(),
        }
    }

    fn step(&mut self, step: dnssec::Step) {
        match step {
            dnssec::Step::Signing => self.bar.set_message("reading and signing the zone"),
            dnssec::Step::Storing { done, total } => {
                self.storing
                    .get_or_insert((std::time::Instant::now(), total));
                self.bar.set_message("storing its DNSSEC records");
                self.bar.set_length(total as u64);
                self.bar.set_position(done as u64);
            }
            dnssec::Step::CatchingUp { changed } => {
                self.rounds.push((std::time::Instant::now(), changed));
                self.bar
                    .set_message(format!("catching up {changed} changed RRsets"));
            }
        }
    }

    /// What each step took: signing whole (read, sign), storing, each catch-up round (the
    /// last one publishing).
    fn summary(&self) -> String {
        let now = std::time::Instant::now();
        let Some(&(stored_at, stored)) = self.storing.as_ref() else {
            return format!(" in {:.1} s", self.started.elapsed().as_secs_f64());
        };
        let first_round = self.rounds.first().map_or(now, |r| r.0);
        let rounds: Vec<String> = self
            .rounds
            .iter()
            .enumerate()
            .map(|(n, &(at, changed))| {
                let end = self.rounds.get(n + 1).map_or(now, |r| r.0);
                format!("{changed} RRsets in {:.2} s", (end - at).as_secs_f64())
            })
            .collect();
        format!(
            " in {:.1} s: signed whole in {:.1} s; {stored} records stored, {} to a \
             transaction, in {:.1} s; caught up with the writes made meanwhile: {} (the last \
             round publishing)",
            self.started.elapsed().as_secs_f64(),
            (stored_at - self.started).as_secs_f64(),
            dnssec::STORED_PER_TRANSACTION,
            (first_round - stored_at).as_secs_f64(),
            rounds.join(", "),
        )
    }
}

fn denial(text: &str) -> Result<Denial> {
    let nsec3 = |opt_out| Denial::Nsec3 {
        iterations: 0,
        salt: Vec::new(),
        opt_out,
    };
    Ok(match text {
        "nsec3-opt-out" => nsec3(true),
        "nsec3" => nsec3(false),
        "nsec" => Denial::Nsec,
        other => anyhow::bail!("denial {other:?}: use nsec3-opt-out, nsec3 or nsec"),
    })
}

/// Carries out a dnssec command.
pub fn run(command: Command, env: &Env) -> Result<()> {
    let mut conn = open(&env.config)?;
    let now = ops::now();
    match command {
        Command::Keygen {
            zone,
            ksk,
            algorithm,
        } => {
            let folder = &env.config.dnssec.keys;
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
            let algorithm = Algorithm::from_number(algorithm)?;
            let pair = KeyPair::generate(algorithm)?;
            let flags = if ksk { SECURE_ENTRY_POINT } else { ZONE_KEY };
            let origin: Name = format!("{zone}.").parse().context("the zone's name")?;
            let path = bind::write_bind(
                folder,
                &origin,
                flags,
                bind::Private::InFile(&pair),
                now.max(0) as u64,
                &Timing::default(),
            )?;
            println!("{}", path.display());
        }
        Command::On { zone, denial: text } => {
            let denial = denial(&text)?;
            let mut progress = Progress::new();
            let serial = dnssec::set(
                &mut conn,
                &env.config.signer()?,
                zone.as_str(),
                Some(&denial),
                now,
                &mut |step| progress.step(step),
            )?;
            progress.bar.finish_and_clear();
            println!(
                "{zone}: signed ({text}) at serial {serial}{}",
                progress.summary()
            );
        }
        Command::RolloverKsk { zone, switch_in } => {
            let origin: Name = format!("{zone}.").parse().context("the zone's name")?;
            let now = now.max(0) as u64;
            let switch = now + switch_in;
            let folder = &env.config.dnssec.keys;
            match bind::roll_ksk(folder, &origin, now, switch)? {
                None => println!("{zone}: a successor KSK is waiting already (dnssec status)"),
                Some(base) => {
                    let key = bind::read_bind(&base)?;
                    let ds = zonefiles::Record {
                        owner: origin.clone(),
                        rtype: zonefiles::RecordType::DS,
                        class: zonefiles::Class::IN,
                        ttl: 3600,
                        rdata: key.ds_rdata(&origin).into(),
                    };
                    println!(
                        "{zone}: new KSK {}, switching at {}
  give the parent its DS now: {ds}",
                        base.display(),
                        zonefiles::calendar::date_time(switch as i64)
                    );
                }
            }
        }
        Command::Off { zone } => {
            let signer = env.config.signer()?;
            let serial = dnssec::set(&mut conn, &signer, zone.as_str(), None, now, &mut |_| {})?;
            println!("{zone}: no longer signed, from serial {serial}");
        }
        Command::Resign { zone } => {
            let serial = dnssec::resign(&mut conn, &env.config.signer()?, zone.as_str(), now)?;
            println!("{zone}: signed whole again at serial {serial}");
        }
        Command::Status { zone } => {
            let settings = conn
                .zones()?
                .into_iter()
                .find(|z| z.origin == zone)
                .with_context(|| format!("there is no zone {zone}"))?;
            let Some(denial) = conn.zone_denial(settings.id)? else {
                match conn.dnssec_building(settings.id)? {
                    Some((_, serial)) => println!(
                        "{zone}: not signed yet: signing is being turned on (records stored \
                         so far sign serial {serial}; if no `dnssec on` is running, run it again)"
                    ),
                    None => println!("{zone}: not signed (control-plane dnssec on {zone})"),
                }
                return Ok(());
            };
            let text = control_plane::store::sqlite::dnssec::denial_text(&denial);
            let records = conn.zone_dnssec(settings.id)?.len();
            println!(
                "{zone}: signed ({text}), {records} DNSSEC records, serial {}",
                settings.serial
            );
            let origin: Name = format!("{zone}.").parse().context("the zone's name")?;
            let folder = &env.config.dnssec.keys;
            println!("keys in {}:", folder.display());
            for (path, key) in bind::zone_keys(&origin, folder)? {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let key = key.open().with_context(|| format!("opening {name}"))?;
                let role = if key.is_sep() { "KSK" } else { "ZSK" };
                let now = now.max(0) as u64;
                let state = dnssec::key_state(&key, now);
                let t = &key.timing;
                let events: String = [
                    ("published from", t.publish),
                    ("signs from", t.activate),
                    ("stops signing at", t.inactive),
                    ("removed at", t.delete),
                ]
                .into_iter()
                .filter_map(|(what, at)| {
                    at.filter(|at| *at > now)
                        .map(|at| format!("; {what} {}", zonefiles::calendar::date_time(at as i64)))
                })
                .collect();
                println!(
                    "  {role} {} tag {}: {state}{events}",
                    key.signer.algorithm().mnemonic(),
                    key.key_tag()
                );
                if key.is_sep() && key.timing.delete.is_none_or(|d| now < d) {
                    let ds = zonefiles::Record {
                        owner: origin.clone(),
                        rtype: zonefiles::RecordType::DS,
                        class: zonefiles::Class::IN,
                        ttl: settings.soa_ttl,
                        rdata: key.ds_rdata(&origin).into(),
                    };
                    println!("    DS for the parent: {ds}");
                }
            }
        }
    }
    Ok(())
}
