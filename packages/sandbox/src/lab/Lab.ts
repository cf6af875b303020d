/**
 * Builds a LabState from options: the default homelab, or a generated lab of N guests.
 */
import { LabState, type LabFlags, type LabProfile } from "../state/LabState.js"
import { buildDefaultLab } from "./DefaultLab.js"
import { generateLab, type GenerateOptions } from "./Generator.js"

/** Options of `buildLab`. */
export interface LabOptions {
  readonly seed?: number
  /** A generated lab of this many guests; otherwise the default homelab. */
  readonly guests?: number
  readonly generate?: Omit<GenerateOptions, "guests">
  readonly timeScale?: number
  readonly clock?: "real" | "manual"
  readonly epochBase?: number
  readonly flags?: Partial<LabFlags>
  readonly profile?: LabProfile
  /** Keep only root@pam (no product identity, no test principals). */
  readonly unprovisioned?: boolean
}

/** A fresh lab; deterministic from the options. */
export const buildLab = (options: LabOptions = {}): LabState => {
  const lab = new LabState({
    seed: options.seed ?? 1,
    ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.epochBase !== undefined ? { epochBase: options.epochBase } : {}),
    ...(options.flags !== undefined ? { flags: options.flags } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {})
  })
  if (options.guests !== undefined) {
    generateLab(lab, { ...options.generate, guests: options.guests, ...(options.unprovisioned === true ? { unprovisioned: true } : {}) })
  } else buildDefaultLab(lab, options.unprovisioned === true ? { unprovisioned: true } : {})
  return lab
}
