//! The manifest: which segments make the index now, oldest first, and up to which serial of
//! each zone the index holds the changes. One small JSON file (`<root>/index/MANIFEST`),
//! replaced by rename whenever a layer is added or a merge is installed; its generation goes
//! up by one each time, so a reader knows by reading it whether to open anything.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The manifest's file name in the index folder.
pub const FILE: &str = "MANIFEST";

/// One segment as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The segment's id (its file is `segment-<id>.fst`).
    pub id: u64,
    /// Its number of keys (tombstones included): what the merge policy weighs.
    pub keys: u64,
}

/// The index's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped at every change of the manifest.
    pub generation: u64,
    /// The segments, oldest first: where several hold a key, the newest says.
    pub segments: Vec<Listed>,
    /// Per zone, the serial of the last changeset whose changes the segments hold (the
    /// update-agent's recovery starts there).
    #[serde(default)]
    pub covers: BTreeMap<String, u32>,
}

impl Manifest {
    /// Reads the manifest; `Ok(None)` if there is none yet.
    pub fn read(dir: &Path) -> std::io::Result<Option<Manifest>> {
        let bytes = match std::fs::read(dir.join(FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The generation written last, 0 if none (or if the manifest does not read).
    pub fn generation(dir: &Path) -> u64 {
        Manifest::read(dir)
            .ok()
            .flatten()
            .map_or(0, |m| m.generation)
    }

    /// Replaces the manifest by rename (without fsync: see [`crate::atomic::replace_unsynced_with`]).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).expect("a manifest serializes");
        crate::atomic::replace_unsynced_with(&dir.join(FILE), |out| {
            std::io::Write::write_all(out, &bytes)
        })
    }

    /// The id the next segment gets: past every listed one.
    pub fn next_id(&self) -> u64 {
        self.segments.iter().map(|s| s.id + 1).max().unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), None);
        assert_eq!(Manifest::generation(dir.path()), 0);
        let manifest = Manifest {
            generation: 7,
            segments: vec![Listed { id: 3, keys: 10 }, Listed { id: 9, keys: 2 }],
            covers: [("tld".to_string(), 41)].into(),
        };
        manifest.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), Some(manifest.clone()));
        assert_eq!(Manifest::generation(dir.path()), 7);
        assert_eq!(manifest.next_id(), 10);
        std::fs::write(dir.path().join(FILE), b"{\"generation\":").unwrap();
        assert!(Manifest::read(dir.path()).is_err());
        assert_eq!(Manifest::generation(dir.path()), 0);
    }
}
