import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { defaultSettings, selectBackupKind } from "@homelab-mcp/core/backup/Policy"

describe("selectBackupKind", () => {
  it("reports `reanchored` exactly as asked, so a decision can be reused for the same bytes and verdict", () => {
    fc.assert(
      fc.property(
        fc.option(fc.uint8Array({ maxLength: 2048 }), { nil: null }),
        fc.option(fc.uint8Array({ maxLength: 2048 }), { nil: null }),
        fc.boolean(),
        fc.constantFrom(64, 1024, 1 << 20),
        (previous, next, reanchor, largeFileBytes) => {
          const d = selectBackupKind({ previous, next, reanchor, settings: { ...defaultSettings, largeFileBytes } })
          expect(d.reanchored).toBe(reanchor)
        }
      ),
      { numRuns: 300 }
    )
  })
})
