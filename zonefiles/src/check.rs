//! Zone checks run before a zone is compiled or published, in the spirit of `named-checkzone`
//! and `kzonecheck`. An error stops publication; a warning is reported and the zone is served.
//!
//! | rule | severity | reference |
//! | --- | --- | --- |
//! | `soa_missing`, `soa_multiple`, `soa_not_at_apex` | error | RFC 1035 §5.2, RFC 1034 §4.2.1 |
//! | `apex_ns_missing` | error | RFC 1034 §4.2.1 |
//! | `out_of_zone` | error | RFC 1034 §4.2.1 (BIND and Knot ignore such data; a registry refuses it) |
//! | `cname_and_other_data`, `cname_multiple` | error | RFC 2181 §10.1, RFC 4035 §2.5 |
//! | `dname_multiple`, `dname_at_delegation`, `dname_children` | error | RFC 6672 §2.4, §3 |
//! | `glue_missing` | error | RFC 1034 §4.2.2; a name server in the zone needs an address |
//! | `occluded_data` | warning | RFC 1034 §4.2.1: only glue belongs below a zone cut; such data is kept and never answered authoritatively, as BIND, NSD and Knot do |
//! | `ds_at_apex`, `ds_not_at_delegation` | error | RFC 4035 §2.4 |
//! | `ds_digest_length` | error | RFC 4034 §5.1.4, RFC 4509 §2.2, RFC 6605 §2 |
//! | `glue_unused` | warning | address records below a cut that no NS names |
//! | `wildcard_not_leftmost` | warning | RFC 4592 §2.1.1 |
//! | `duplicate_record`, `ttl_mismatch` | warning | RFC 2181 §5, §5.2 (found when the zone is built) |
//!
//! Cost: one pass over the nodes in canonical order ([`Checker`]), holding the in-zone NS
//! targets and the names that own addresses; a look-up of the cuts above a name server only
//! for those without an address.

use rustc_hash::FxHashSet;
use std::fmt;

use crate::image::{CompileError, Nodes};
use crate::name::Name;
use crate::rdata;
use crate::record::Record;
use crate::rtype::RecordType;
use crate::zone::Zone;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Reported; the zone is still published.
    Warning,
    /// The zone is refused.
    Error,
}

/// The rule a finding breaks; [`Rule::slug`] names its test fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Rule {
    SoaMissing,
    SoaMultiple,
    SoaNotAtApex,
    ApexNsMissing,
    OutOfZone,
    CnameAndOtherData,
    CnameMultiple,
    DnameMultiple,
    DnameAtDelegation,
    DnameChildren,
    GlueMissing,
    GlueUnused,
    OccludedData,
    DsAtApex,
    DsNotAtDelegation,
    DsDigestLength,
    WildcardNotLeftmost,
    DuplicateRecord,
    TtlMismatch,
}

impl Rule {
    /// The rule's name in snake case, as in fixture names (`glue_missing.zone`).
    pub fn slug(self) -> &'static str {
        match self {
            Rule::SoaMissing => "soa_missing",
            Rule::SoaMultiple => "soa_multiple",
            Rule::SoaNotAtApex => "soa_not_at_apex",
            Rule::ApexNsMissing => "apex_ns_missing",
            Rule::OutOfZone => "out_of_zone",
            Rule::CnameAndOtherData => "cname_and_other_data",
            Rule::CnameMultiple => "cname_multiple",
            Rule::DnameMultiple => "dname_multiple",
            Rule::DnameAtDelegation => "dname_at_delegation",
            Rule::DnameChildren => "dname_children",
            Rule::GlueMissing => "glue_missing",
            Rule::GlueUnused => "glue_unused",
            Rule::OccludedData => "occluded_data",
            Rule::DsAtApex => "ds_at_apex",
            Rule::DsNotAtDelegation => "ds_not_at_delegation",
            Rule::DsDigestLength => "ds_digest_length",
            Rule::WildcardNotLeftmost => "wildcard_not_leftmost",
            Rule::DuplicateRecord => "duplicate_record",
            Rule::TtlMismatch => "ttl_mismatch",
        }
    }
}

/// One problem found in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The rule broken.
    pub rule: Rule,
    /// The owner name concerned.
    pub owner: Name,
    /// The record type concerned, if one.
    pub rtype: Option<RecordType>,
    /// A sentence for the operator.
    pub detail: String,
}

impl Finding {
    pub(crate) fn new(
        severity: Severity,
        rule: Rule,
        owner: &Name,
        rtype: Option<RecordType>,
        detail: String,
    ) -> Finding {
        Finding {
            severity,
            rule,
            owner: owner.clone(),
            rtype,
            detail,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.owner)?;
        if let Some(rtype) = self.rtype {
            write!(f, "/{rtype}")?;
        }
        write!(f, ": {} ({})", self.detail, self.rule.slug())
    }
}

/// True if any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The lines to show an operator for `findings`: the first `first` findings of each rule (in
/// the order the rules first occur), then one line per rule saying how many more there are.
/// A large registry's zone can break one rule thousands of times (hosts no delegation uses
/// are common): one line per finding would bury the rest.
pub fn summary(findings: &[Finding], first: usize) -> Vec<String> {
    let mut rules: Vec<(Severity, Rule, usize)> = Vec::new();
    let mut lines = Vec::new();
    for finding in findings {
        let seen = match rules
            .iter_mut()
            .find(|(s, r, _)| *s == finding.severity && *r == finding.rule)
        {
            Some((_, _, count)) => count,
            None => {
                rules.push((finding.severity, finding.rule, 0));
                &mut rules.last_mut().expect("just pushed").2
            }
        };
        *seen += 1;
        if *seen <= first {
            lines.push(finding.to_string());
        }
    }
    for (severity, rule, count) in rules {
        if count > first {
            let kind = match severity {
                Severity::Error => "errors",
                Severity::Warning => "warnings",
            };
            lines.push(format!(
                "… {} more {kind} of rule {} ({count} in all; --all-findings shows every one)",
                count - first,
                rule.slug()
            ));
        }
    }
    lines
}

/// What kind of zone cut a name is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    Delegation,
    Dname,
}

/// Runs every check on `zone`.
pub fn check(zone: &Zone) -> Vec<Finding> {
    let mut checker = Checker::new(zone.origin().clone());
    for node in zone.nodes() {
        checker.node(node);
    }
    if checker.needs_second_look() {
        for node in zone.nodes() {
            checker.second_look(node);
        }
    }
    checker.finish()
}

/// A node source with the checks riding on its first full pass: what a streamed build
/// ([`crate::spill`], a zone directory's compaction) hands the compiler, so that a zone is
/// checked and compiled without being held. Nodes outside the zone are left to the checks
/// (reported, never compiled).
pub struct Checked<N> {
    nodes: N,
    origin: Name,
    checker: Checker,
    complete: bool,
}

impl<N: Nodes> Checked<N> {
    /// Checks the zone `origin` whose nodes `nodes` gives.
    pub fn new(nodes: N, origin: Name) -> Checked<N> {
        Checked {
            checker: Checker::new(origin.clone()),
            nodes,
            origin,
            complete: false,
        }
    }

    /// The findings, and the source back. Reads the nodes once more when no pass has
    /// finished (the compile stopped early), and once more when a name server in the zone
    /// has no address (the checks' second look).
    pub fn finish(mut self) -> Result<(Vec<Finding>, N), CompileError> {
        if !self.complete {
            self.each_node(&mut |_| Ok(()))?;
        }
        let Checked { nodes, checker, .. } = &mut self;
        if checker.needs_second_look() {
            nodes.each_node(&mut |node| {
                checker.second_look(node);
                Ok(())
            })?;
        }
        Ok((self.checker.finish(), self.nodes))
    }
}

impl<N: Nodes> Nodes for Checked<N> {
    fn each_node(
        &mut self,
        visit: &mut dyn FnMut(&[Record]) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        let first = !self.complete;
        if first {
            // A pass that stopped early fed the checks part of the zone: start again.
            self.checker = Checker::new(self.origin.clone());
        }
        let Checked {
            nodes,
            origin,
            checker,
            ..
        } = self;
        nodes.each_node(&mut |node| {
            if first {
                checker.node(node);
            }
            if node[0].owner.is_subdomain_of(origin) {
                visit(node)?;
            }
            Ok(())
        })?;
        self.complete = true;
        Ok(())
    }
}

/// The checks as one pass over the nodes in canonical order, for zones held in memory
/// ([`check`]) and zones streamed from disk alike: [`Checker::node`] for each node, then, only
/// when a name server in the zone has no address, [`Checker::second_look`] for each node again
/// (to name the NS records that use it and the cuts above it), then [`Checker::finish`]. What
/// is kept is bounded by the names that take part in glue: the distinct in-zone NS targets,
/// the names that own addresses and the addresses below cuts, never a pair per NS record.
pub struct Checker {
    origin: Name,
    out: Vec<Finding>,
    apex_soa: usize,
    apex_ns: bool,
    cut: Option<(Name, Cut)>,
    /// The distinct NS targets inside the zone.
    glue_names: FxHashSet<Name>,
    /// Names that own an A or AAAA record.
    addressed: FxHashSet<Name>,
    below_cut_addresses: Vec<(Name, RecordType)>,
    second: Option<SecondLook>,
}

/// The targets inside the zone `origin` of a node's NS records.
fn ns_targets<'a>(origin: &'a Name, node: &'a [Record]) -> impl Iterator<Item = Name> + 'a {
    node.iter()
        .filter(|r| r.rtype == RecordType::NS)
        .map(|r| rdata::name_field(RecordType::NS, &r.rdata, 0).expect("NS rdata is a name"))
        .filter(move |target| target.is_subdomain_of(origin))
}

/// What the second look gathers about the in-zone name servers without an address.
#[derive(Default)]
struct SecondLook {
    unaddressed: FxHashSet<Name>,
    /// Their ancestors below the apex, and those of them that are delegations.
    ancestors: FxHashSet<Name>,
    delegations: FxHashSet<Name>,
    /// NS records naming one: owner and target, in canonical order.
    named_by: Vec<(Name, Name)>,
}

impl Checker {
    /// A checker for the zone `origin`.
    pub fn new(origin: Name) -> Checker {
        Checker {
            origin,
            out: Vec::new(),
            apex_soa: 0,
            apex_ns: false,
            cut: None,
            glue_names: FxHashSet::default(),
            addressed: FxHashSet::default(),
            below_cut_addresses: Vec::new(),
            second: None,
        }
    }

    /// The zone cut `owner` lies below, if any; the cut last seen is forgotten once a node
    /// outside it comes.
    fn cut_above(&mut self, owner: &Name) -> Option<&(Name, Cut)> {
        if self
            .cut
            .as_ref()
            .is_some_and(|(cut, _)| !owner.is_subdomain_of(cut) || owner == cut)
        {
            self.cut = None;
        }
        self.cut.as_ref()
    }

    /// Remembers `owner` as a zone cut if it is one.
    fn note_cut(&mut self, owner: &Name, node: &[Record]) {
        let is_apex = *owner == self.origin;
        if !is_apex && node.iter().any(|r| r.rtype == RecordType::NS) {
            self.cut = Some((owner.clone(), Cut::Delegation));
        } else if node.iter().any(|r| r.rtype == RecordType::DNAME) {
            self.cut = Some((owner.clone(), Cut::Dname));
        }
    }

    /// Checks one node: the records of one owner, the nodes coming in canonical order.
    pub fn node(&mut self, node: &[Record]) {
        use Severity::{Error, Warning};
        let owner = &node[0].owner;
        let below = self.cut_above(owner).cloned();
        let Checker { origin, out, .. } = self;
        let mut report = |severity, rule, owner: &Name, rtype, detail: String| {
            out.push(Finding::new(severity, rule, owner, rtype, detail));
        };
        if !owner.is_subdomain_of(origin) {
            for record in node {
                report(
                    Error,
                    Rule::OutOfZone,
                    owner,
                    Some(record.rtype),
                    format!("record outside the zone {origin}"),
                );
            }
            return;
        }
        if owner.labels().skip(1).any(|l| l == b"*") {
            report(
                Warning,
                Rule::WildcardNotLeftmost,
                owner,
                None,
                "`*` label that is not leftmost is not a wildcard".into(),
            );
        }
        let has = |t: RecordType| node.iter().any(|r| r.rtype == t);
        let is_apex = owner == origin;
        if is_apex {
            self.apex_soa = node.iter().filter(|r| r.rtype == RecordType::SOA).count();
            self.apex_ns = has(RecordType::NS);
        }
        if has(RecordType::A) || has(RecordType::AAAA) {
            self.addressed.insert(owner.clone());
        }

        // Singleton and CNAME rules hold everywhere, occluded data included.
        let cnames = node.iter().filter(|r| r.rtype == RecordType::CNAME).count();
        if cnames > 1 {
            report(
                Error,
                Rule::CnameMultiple,
                owner,
                Some(RecordType::CNAME),
                format!("{cnames} CNAME records; expected one"),
            );
        }
        if cnames > 0 {
            for record in node {
                if !matches!(
                    record.rtype,
                    RecordType::CNAME | RecordType::RRSIG | RecordType::NSEC
                ) {
                    report(
                        Error,
                        Rule::CnameAndOtherData,
                        owner,
                        Some(record.rtype),
                        "data next to a CNAME".into(),
                    );
                }
            }
        }
        let dnames = node.iter().filter(|r| r.rtype == RecordType::DNAME).count();
        if dnames > 1 {
            report(
                Error,
                Rule::DnameMultiple,
                owner,
                Some(RecordType::DNAME),
                format!("{dnames} DNAME records; expected one"),
            );
        }
        if let Some((cut_name, kind)) = below {
            {
                match kind {
                    Cut::Dname => report(
                        Error,
                        Rule::DnameChildren,
                        owner,
                        None,
                        format!("name below the DNAME at {cut_name}"),
                    ),
                    Cut::Delegation => {
                        for record in node {
                            if matches!(record.rtype, RecordType::A | RecordType::AAAA) {
                                self.below_cut_addresses.push((owner.clone(), record.rtype));
                            } else {
                                report(
                                    Warning,
                                    Rule::OccludedData,
                                    owner,
                                    Some(record.rtype),
                                    format!(
                                        "record below the delegation at {cut_name} that is not glue"
                                    ),
                                );
                            }
                        }
                    }
                }
                return;
            }
        }

        if !is_apex && has(RecordType::SOA) {
            report(
                Error,
                Rule::SoaNotAtApex,
                owner,
                Some(RecordType::SOA),
                "SOA record below the apex".into(),
            );
        }
        let delegation = !is_apex && has(RecordType::NS);
        if delegation && dnames > 0 {
            report(
                Error,
                Rule::DnameAtDelegation,
                owner,
                Some(RecordType::DNAME),
                "DNAME at a delegation point".into(),
            );
        }
        if has(RecordType::DS) {
            if is_apex {
                report(
                    Error,
                    Rule::DsAtApex,
                    owner,
                    Some(RecordType::DS),
                    "DS at the apex belongs in the parent zone".into(),
                );
            } else if !delegation {
                report(
                    Error,
                    Rule::DsNotAtDelegation,
                    owner,
                    Some(RecordType::DS),
                    "DS at a name that is not a delegation".into(),
                );
            }
        }
        for record in node
            .iter()
            .filter(|r| matches!(r.rtype, RecordType::DS | RecordType::CDS))
        {
            if let Some(expected) = ds_digest_length(&record.rdata)
                && record.rdata.len() - 4 != expected
            {
                report(
                    Error,
                    Rule::DsDigestLength,
                    owner,
                    Some(record.rtype),
                    format!(
                        "digest of {} octets; digest type {} has {expected}",
                        record.rdata.len() - 4,
                        record.rdata[3]
                    ),
                );
            }
        }
        self.glue_names.extend(ns_targets(&self.origin, node));
        self.note_cut(owner, node);
    }

    /// True if some in-zone name server has no address: [`Checker::finish`] then needs a
    /// second look at every node.
    pub fn needs_second_look(&mut self) -> bool {
        let unaddressed: FxHashSet<Name> = self
            .glue_names
            .iter()
            .filter(|target| !self.addressed.contains(*target))
            .cloned()
            .collect();
        if unaddressed.is_empty() {
            return false;
        }
        let mut ancestors = FxHashSet::default();
        for target in &unaddressed {
            let mut name = target.parent();
            while let Some(parent) = name.filter(|n| n.is_subdomain_of(&self.origin)) {
                name = parent.parent();
                if parent != self.origin {
                    ancestors.insert(parent);
                }
            }
        }
        self.second = Some(SecondLook {
            unaddressed,
            ancestors,
            ..SecondLook::default()
        });
        self.cut = None;
        true
    }

    /// Looks at one node again, the nodes coming in canonical order as in the first pass.
    pub fn second_look(&mut self, node: &[Record]) {
        let owner = &node[0].owner;
        if !owner.is_subdomain_of(&self.origin) {
            return;
        }
        let Some(second) = self.second.as_mut() else {
            return;
        };
        if second.ancestors.contains(owner) && node.iter().any(|r| r.rtype == RecordType::NS) {
            second.delegations.insert(owner.clone());
        }
        if self.cut_above(owner).is_some() {
            return;
        }
        if let Some(second) = self.second.as_mut() {
            let named = ns_targets(&self.origin, node).filter(|t| second.unaddressed.contains(t));
            second
                .named_by
                .extend(named.map(|target| (owner.clone(), target)));
        }
        self.note_cut(owner, node);
    }

    /// The findings, once every node has been seen (twice if
    /// [`Checker::needs_second_look`] said so).
    pub fn finish(self) -> Vec<Finding> {
        use Severity::Error;
        let origin = &self.origin;
        let mut out = Vec::new();
        match self.apex_soa {
            0 => out.push(Finding::new(
                Error,
                Rule::SoaMissing,
                origin,
                Some(RecordType::SOA),
                "no SOA record at the zone apex".into(),
            )),
            1 => {}
            n => out.push(Finding::new(
                Error,
                Rule::SoaMultiple,
                origin,
                Some(RecordType::SOA),
                format!("{n} SOA records at the apex; expected exactly one"),
            )),
        }
        if !self.apex_ns {
            out.push(Finding::new(
                Error,
                Rule::ApexNsMissing,
                origin,
                Some(RecordType::NS),
                "no NS records at the zone apex".into(),
            ));
        }
        out.extend(self.out);
        // Every in-zone NS target has an address, unless it lies below another zone's cut
        // (sibling glue is optional; RFC 9471 §2.2).
        let second = self.second.unwrap_or_default();
        for (owner, target) in &second.named_by {
            let own = target.is_subdomain_of(owner) && owner != origin;
            let sibling = !own
                && std::iter::successors(target.parent(), Name::parent)
                    .any(|name| second.delegations.contains(&name));
            if !sibling {
                out.push(Finding::new(
                    Error,
                    Rule::GlueMissing,
                    owner,
                    Some(RecordType::NS),
                    format!("name server {target} is in the zone but has no A or AAAA record"),
                ));
            }
        }
        for (owner, rtype) in &self.below_cut_addresses {
            if !self.glue_names.contains(owner) {
                out.push(Finding::new(
                    Severity::Warning,
                    Rule::GlueUnused,
                    owner,
                    Some(*rtype),
                    "address below a delegation that no NS record names".into(),
                ));
            }
        }
        out
    }
}

/// The digest length of a DS record's digest type, for the types with a fixed length.
fn ds_digest_length(rdata: &[u8]) -> Option<usize> {
    match rdata.get(3)? {
        1 => Some(20),
        2 => Some(32),
        3 => Some(32),
        4 => Some(48),
        _ => None,
    }
}
