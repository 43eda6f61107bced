//! The WhatsApp Cloud API webhook: signature verification and envelope normalisation (issue 3). Being built.
