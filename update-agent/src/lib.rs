//! Constellation `update-agent`: placeholder crate until its issue is taken up; see the workspace README.
