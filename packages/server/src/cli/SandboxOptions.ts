/**
 * Parsing of the sandbox flags shared by `serve --sandbox` and `sandbox` (`--seed`, `--lab`, `--tier`).
 */
import type { SandboxOptions, SandboxTier } from "@homelab-mcp/sandbox/Sandbox"

/** The raw flag values. */
export interface SandboxFlags {
  readonly seed?: string
  readonly lab?: string
  readonly tier?: string
}

/** Parsed options, or a message naming the bad flag and the expected form. */
export const parse = (flags: SandboxFlags, defaultTier: SandboxTier): { options: SandboxOptions; tier: SandboxTier } | string => {
  const tier = flags.tier ?? defaultTier
  if (tier !== "observe" && tier !== "operate" && tier !== "companion") {
    return `--tier ${JSON.stringify(tier)}: expected observe, operate or companion (root is never enabled by the sandbox)`
  }
  let seed = 1
  if (flags.seed !== undefined) {
    if (!/^\d{1,9}$/.test(flags.seed)) return `--seed ${JSON.stringify(flags.seed)}: expected a non-negative integer`
    seed = Number(flags.seed)
  }
  let guests: number | undefined
  if (flags.lab !== undefined && flags.lab !== "default") {
    const m = flags.lab.match(/^generate:(\d{1,3})$/)
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 500) return `--lab ${JSON.stringify(flags.lab)}: expected default or generate:N with N 1..500`
    guests = Number(m[1])
  }
  return { tier, options: { seed, tier, ssh: tier === "companion", ...(guests !== undefined ? { guests } : {}) } }
}
