//! Engine behaviour: tiering, chaining, jump cache, exit requests, flush.
