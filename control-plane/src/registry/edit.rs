//! Rules that change part of an object — a renewal from the stated expiry, name servers and DS
//! records added and removed — and the availability check. EPP speaks in these terms; they
//! are written here once, over the same checks and charges as the whole-object commands.

use zonefiles::calendar;
use zonefiles::whois::DelegationSigner;

use super::{
    CurrentExpiry, Failure, MAX_DS, Quote, Refusal, Reply, Rules, check_ds, permitted, prices_of,
};
use crate::model::{Action, HistoryKey, LedgerKind, Nameserver};

impl Rules<'_> {
    pub(super) fn check_domains(
        &mut self,
        names: &[String],
        quote: &[(LedgerKind, u32)],
    ) -> Result<Reply, Failure> {
        let mut answers = Vec::with_capacity(names.len());
        let mut quotes = Vec::new();
        for name in names {
            let name = name.to_ascii_lowercase();
            let zone = match self.zone_of(&name) {
                Err(refusal) => {
                    answers.push((name, Err(refusal.to_string())));
                    continue;
                }
                Ok(zone) => zone.clone(),
            };
            let verdict = if self.store.domain(&name)?.is_some() {
                Err("registered".to_string())
            } else {
                match self.check_blocked(&name, &zone) {
                    Ok(()) => Ok(()),
                    Err(Failure::Refused(refusal)) => Err(refusal.to_string()),
                    Err(store) => return Err(store),
                }
            };
            if !quote.is_empty() {
                let (prices, premium) = prices_of(self.store, &name, &zone)?;
                for &(kind, years) in quote {
                    quotes.push(Quote {
                        name: name.clone(),
                        kind,
                        years,
                        price: prices.of(kind) * i64::from(years),
                        premium,
                    });
                }
            }
            answers.push((name, verdict));
        }
        Ok(if quote.is_empty() {
            Reply::Availability(answers)
        } else {
            Reply::Priced(answers, quotes)
        })
    }

    pub(super) fn renew(
        &mut self,
        name: &str,
        current_expiry: CurrentExpiry,
        months: u32,
    ) -> Result<Reply, Failure> {
        let domain = self.own_domain(name)?;
        let day = domain.expires - domain.expires.rem_euclid(calendar::DAY);
        let year = calendar::civil_from_days(day.div_euclid(calendar::DAY)).0;
        let stated = match current_expiry {
            CurrentExpiry::Day(stated) if stated != day => Some(calendar::date(stated)),
            CurrentExpiry::Year(stated) if stated != year => Some(stated.to_string()),
            _ => None,
        };
        if let Some(stated) = stated {
            return Err(Refusal::ExpiryMismatch(format!(
                "{} expires on {}, not {stated}",
                domain.name,
                calendar::date(domain.expires),
            ))
            .into());
        }
        if months == 0 {
            return Err(Refusal::InvalidExpiry("a renewal adds at least a month".into()).into());
        }
        let new = calendar::add_months(domain.expires, i64::from(months));
        self.set_expire(&domain.name, new - new.rem_euclid(calendar::DAY))?;
        Ok(Reply::Expires(new))
    }

    pub(super) fn edit_nameservers(
        &mut self,
        name: &str,
        add: &[Nameserver],
        remove: &[String],
    ) -> Result<Reply, Failure> {
        let mut domain = self.own_domain(name)?;
        permitted(&domain, Action::Update)?;
        let mut hosts = match domain.cluster {
            Some(id) => self.own_cluster(id)?.nameservers,
            None => Vec::new(),
        };
        for gone in remove {
            let before = hosts.len();
            hosts.retain(|ns| &ns.name != gone);
            if hosts.len() == before {
                return Err(Refusal::InvalidValue(format!(
                    "{gone} is not a name server of {}",
                    domain.name
                ))
                .into());
            }
        }
        for new in add {
            if hosts.iter().any(|ns| ns.name == new.name) {
                return Err(Refusal::AlreadyRegistered(format!(
                    "{} is already a name server of {}",
                    new.name, domain.name
                ))
                .into());
            }
            hosts.push(new.clone());
        }
        if hosts.is_empty() {
            if domain.cluster.is_none() {
                return Ok(Reply::Done);
            }
            self.publication.touch(self.store, &domain.name)?;
            domain.cluster = None;
            domain.updated = self.now;
            self.store.update_domain(&domain)?;
            self.record(
                HistoryKey::Domain(&domain.name),
                "SET CLUSTER (none)".into(),
            )?;
            return Ok(Reply::Done);
        }
        let (cluster, _) = self.cluster_for(&hosts)?;
        self.set_cluster(&domain.name, cluster)
    }

    pub(super) fn edit_ds(
        &mut self,
        name: &str,
        add: &[DelegationSigner],
        remove: &[DelegationSigner],
        remove_all: bool,
    ) -> Result<Reply, Failure> {
        let domain = self.own_domain(name)?;
        permitted(&domain, Action::Update)?;
        let mut ds = if remove_all { Vec::new() } else { domain.ds };
        for gone in remove {
            let before = ds.len();
            ds.retain(|record| record != gone);
            if ds.len() == before {
                return Err(Refusal::InvalidValue(format!(
                    "{} has no DS record with key tag {}",
                    domain.name, gone.key_tag
                ))
                .into());
            }
        }
        check_ds(add)?;
        for record in add {
            if !ds.contains(record) {
                ds.push(record.clone());
            }
        }
        if ds.len() > MAX_DS {
            return Err(Refusal::InvalidValue(format!(
                "{} would hold {} DS records; a domain holds at most {MAX_DS}",
                domain.name,
                ds.len()
            ))
            .into());
        }
        self.set_ds(&domain.name, &ds)
    }
}
