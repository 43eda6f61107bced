//! Availability: free slots and nearest alternatives (issue 5). Being built.
