/**
 * The V8 flags the agent runs with: the bin's shebang (mapper-agent/cli.ts) and the systemd units
 * (deploy/systemd/mapper-agent*.service) pass them to node, the benchmarks run it the same way,
 * and test/deploy/deploy.test.ts checks that all three say the same.
 *
 * A young generation of 4 MiB semi-spaces instead of V8's default of up to 16 MiB on a machine of
 * this size: the agent's garbage dies young (an LDAP entry, a file's status, a decision), so a
 * smaller nursery is collected more often for the same work and holds less. Measured on the
 * benchmarks' data, in paired runs: a full map sync of 220k identities peaks at 112-116 MB instead
 * of 123-140 MB, a pooled lift of 100k files at 147-154 MB instead of 193-196 MB, an ingest of
 * 20k files at 92-108 MB instead of 118-120 MB; CPU and time the same within the runs' spread.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=4'] as const;
