//! Understanding customer messages (it/en/es). Being built; see issue 4.
