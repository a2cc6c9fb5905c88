//! xlat's test suites: differential harnesses, guest test programs, real-guest runners
