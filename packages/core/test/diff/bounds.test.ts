import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import { defaultSettings, selectBackupKind } from "@homelab-mcp/core/backup/Policy"
import * as Rdiff from "@homelab-mcp/core/backup/Rdiff"
import * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"

const rewritten = (lines: number, round: number) =>
  new TextEncoder().encode(Array.from({ length: lines }, (_, i) => `key_${i} = ${(i * 7919 + round) % 100003} r${round}`).join("\n") + "\n")

describe("diff cost bounds", () => {
  it("the lower bound counts the multiset symmetric difference of lines", () => {
    expect(UnifiedDiff.lineEditLowerBound(["a", "b", "b"], ["b", "c"])).toBe(3)
    expect(UnifiedDiff.lineEditLowerBound(["a", "b"], ["b", "a"])).toBe(0)
  })

  it("a whole-file rewrite beyond the edit limit is omitted without running Myers", () => {
    const d = UnifiedDiff.make(rewritten(6000, 0), rewritten(6000, 1))
    expect(d).toMatchObject({ diff: null, diffOmitted: UnifiedDiff.TOO_LARGE })
  })

  it("a delta that would re-insert more than the allowed fraction is not built; the policy stores full", () => {
    const before = rewritten(3000, 0)
    const after = rewritten(3000, 1)
    expect(Option.isNone(Rdiff.make(after, before, { maxInsertedFraction: 0.5 }))).toBe(true)
    expect(selectBackupKind({ previous: before, next: after, reanchor: false, settings: defaultSettings }).kind).toBe("full")
  })

  it("a small edit of a large text is still a delta", () => {
    const before = rewritten(3000, 0)
    const text = new TextDecoder().decode(before).replace("key_10 =", "key_10 :=")
    const decision = selectBackupKind({ previous: before, next: new TextEncoder().encode(text), reanchor: false, settings: defaultSettings })
    expect(decision.kind).toBe("rdiff")
  })
})
