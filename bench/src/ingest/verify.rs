//! The `verify` subcommand: checks that every acknowledged delivery is in the inbox rows on
//! stdin.

use crate::fixtures::ID_PREFIX;
use crate::VerifyArgs;
use anyhow::{bail, Context};
use lyo_infrastructure::inbox::INBOX_AAD;
use lyo_infrastructure::pii::MasterKey;
use std::collections::HashSet;
use std::io::{BufRead, Write};

pub(crate) fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let key = MasterKey::from_base64(&args.master_key).context("LYO_MASTER_KEY")?;
    let acked: Vec<u64> = std::fs::read_to_string(&args.acked)?
        .lines()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let (mut rows, mut purged, mut unreadable) = (0u64, 0u64, 0u64);
    let mut stored: HashSet<u64> = HashSet::with_capacity(acked.len());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        rows += 1;
        if line == "\\N" {
            purged += 1;
            continue;
        }
        let Ok(sealed) = hex::decode(line.trim()) else {
            unreadable += 1;
            continue;
        };
        let Ok(body) = key.open_bytes(&sealed, INBOX_AAD) else {
            unreadable += 1;
            continue;
        };
        let body = String::from_utf8_lossy(&body);
        for (at, _) in body.match_indices(ID_PREFIX) {
            let digits: String = body[at + ID_PREFIX.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(seq) = digits.parse() {
                stored.insert(seq);
            }
        }
    }
    let missing = acked.iter().filter(|s| !stored.contains(s)).count() as u64;
    let distinct: HashSet<&u64> = acked.iter().collect();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Stored-check after the run: {} acknowledged deliveries ({} distinct), {rows} rows in \
         `webhook_inbox`; each row opened with the master key and its ids read: {} acknowledged \
         deliveries not found{}{}.",
        acked.len(),
        distinct.len(),
        missing,
        if purged > 0 {
            format!(", {purged} rows already processed (body purged)")
        } else {
            String::new()
        },
        if unreadable > 0 {
            format!(", {unreadable} rows could not be opened")
        } else {
            String::new()
        },
    )?;
    // A purged row may hold a missing delivery; beyond that, something acknowledged is lost.
    if (rows as usize) < acked.len() || missing > purged {
        bail!(
            "acknowledged deliveries are missing from the store: {} acknowledged, {rows} rows, \
             {missing} not found, {purged} purged, {unreadable} unreadable",
            acked.len()
        );
    }
    Ok(())
}
