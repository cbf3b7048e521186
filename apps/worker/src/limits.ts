// Bounds shared by the options and the modules a compute thread loads (csv.ts): kept apart from
// options.ts so that a thread does not load the configuration and the event contract.

/** Upper bound of `--stocks`, as in the RunRequest contract. */
export const MAX_STOCKS = 100_000
/** Upper bound of `--days`, as in the RunRequest contract. */
export const MAX_DAYS = 20_000
