/** The agent's exit codes, documented in README.md and `mapper-agent --help`. */
export const EXIT = {
  /** done; for sync: map written or already up to date */
  OK: 0,
  /** unexpected error (see the log) */
  ERROR: 1,
  /** refused by a safety guard: the map would shrink beyond agent.maxShrinkFraction (use --force), or the clock disagrees with the directory server's (embargo) */
  REFUSED: 2,
  /** LDAP unreachable, timed out or answered partially: nothing was changed */
  DIRECTORY_UNAVAILABLE: 3,
  /** configuration missing or invalid */
  CONFIG: 4,
  /** ingest/verify/embargo finished but some files were refused, quarantined or drifted */
  ATTENTION: 5,
} as const;

export const EXIT_HELP = `Exit codes:
  0  done (sync: map written or already up to date)
  1  unexpected error (see the log on stderr)
  2  refused by a safety guard (map would shrink beyond agent.maxShrinkFraction, --force overrides;
     embargo: this host's clock disagrees with the directory server's by more than agent.ingest.maxClockSkewSeconds)
  3  directory unavailable, timed out or answered partially: nothing was changed
  4  configuration missing or invalid
  5  finished, but some files need attention (refused, quarantined or drifted)`;
