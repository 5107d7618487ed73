//! Constellation `ops`: placeholder crate until its issue is taken up; see the workspace README.
