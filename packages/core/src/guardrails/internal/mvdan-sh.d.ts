/** @internal Minimal typing of the GopherJS build of mvdan/sh (the AST is walked structurally). */
declare module "mvdan-sh" {
  /** A node of the mvdan/sh syntax tree; fields are read by name (Stmts, Cmd, Args, Parts, …). */
  export type ShNode = any
  export interface ShParser {
    Parse(src: string, name: string): ShNode
  }
  export interface ShSyntax {
    NewParser(...options: ReadonlyArray<unknown>): ShParser
    NodeType(node: ShNode): string
    Walk(node: ShNode, fn: (node: ShNode | null | undefined) => boolean): void
    LangBash: unknown
    Variant(lang: unknown): unknown
  }
  const sh: { readonly syntax: ShSyntax }
  export default sh
}
