//! Holded client against the Holded simulator, both API generations.
