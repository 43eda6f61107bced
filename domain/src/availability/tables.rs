//! How a party gets its table(s).
//!
//! Rule: among the free tables, the single table with the fewest seats that still seats the
//! party (the first listed on a tie). Only if no single free table fits, the free combination
//! with the fewest total seats that fits (then the fewest tables, then the first listed). A
//! combination seats the sum of its tables' seats. A party never shares a table.

use std::collections::HashSet;

use super::settings::{RestaurantCapacity, Table};
use super::units::TableId;

/// The tables a party of `people` would take, given the tables already in use.
pub(crate) fn choose_tables(
    capacity: &RestaurantCapacity,
    people: u16,
    busy: &HashSet<&TableId>,
) -> Option<Vec<TableId>> {
    let free = |id: &TableId| !busy.contains(id);
    let single = capacity
        .tables
        .iter()
        .filter(|t| free(&t.id) && t.seats >= people)
        .min_by_key(|t| t.seats);
    if let Some(table) = single {
        return Some(vec![table.id.clone()]);
    }
    capacity
        .combinations
        .iter()
        .filter(|c| c.tables.iter().all(free))
        .map(|c| (seats_of(&capacity.tables, &c.tables), c))
        .filter(|(seats, _)| *seats >= u32::from(people))
        .min_by_key(|(seats, c)| (*seats, c.tables.len()))
        .map(|(_, c)| c.tables.clone())
}

/// Whether a party of `people` could be seated in an empty restaurant.
pub(crate) fn could_ever_seat(capacity: &RestaurantCapacity, people: u16) -> bool {
    capacity.tables.is_empty() || choose_tables(capacity, people, &HashSet::new()).is_some()
}

fn seats_of(tables: &[Table], ids: &[TableId]) -> u32 {
    ids.iter()
        .filter_map(|id| tables.iter().find(|t| &t.id == id))
        .map(|t| u32::from(t.seats))
        .sum()
}
