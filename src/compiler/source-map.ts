/**
 * Source maps for emitted files. TypeScript's transpiler maps the
 * JavaScript to the TypeScript text raycompile generated; that text is laid
 * out so that each of its lines is a line of the user's source (or a
 * generated line, mapped to nothing). Composing the two maps lines of
 * JavaScript back to the user's `.ts` lines.
 */
import path from "node:path";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map(Array.from(BASE64, (c, i) => [c, i]));

/** Decodes one segment's base64 VLQ fields. */
function decodeSegment(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`invalid source map character ${JSON.stringify(char)}`);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

function encodeValue(n: number): string {
  let vlq = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = "";
  do {
    let digit = vlq & 31;
    vlq >>>= 5;
    if (vlq > 0) digit |= 32;
    out += BASE64.charAt(digit);
  } while (vlq > 0);
  return out;
}

/** One mapping: generated column to a line and column of the (single) source. */
interface Mapping {
  readonly column: number;
  readonly sourceLine: number;
  readonly sourceColumn: number;
}

function decodeMappings(mappings: string): Mapping[][] {
  let sourceLine = 0;
  let sourceColumn = 0;
  let sourceIndex = 0;
  let nameIndex = 0;
  return mappings.split(";").map((line) => {
    let column = 0;
    const out: Mapping[] = [];
    for (const segment of line.split(",")) {
      if (segment === "") continue;
      const fields = decodeSegment(segment);
      column += fields[0] ?? 0;
      if (fields.length < 4) continue;
      sourceIndex += fields[1] ?? 0;
      sourceLine += fields[2] ?? 0;
      sourceColumn += fields[3] ?? 0;
      if (fields.length > 4) nameIndex += fields[4] ?? 0;
      out.push({ column, sourceLine, sourceColumn });
    }
    return out;
  });
}

function encodeMappings(lines: readonly Mapping[][]): string {
  let sourceLine = 0;
  let sourceColumn = 0;
  return lines
    .map((line) => {
      let column = 0;
      return line
        .map((m) => {
          const text = encodeValue(m.column - column) + encodeValue(0) + encodeValue(m.sourceLine - sourceLine) + encodeValue(m.sourceColumn - sourceColumn);
          column = m.column;
          sourceLine = m.sourceLine;
          sourceColumn = m.sourceColumn;
          return text;
        })
        .join(",");
    })
    .join(";");
}

/**
 * The source map of an emitted file, as JSON text: `transpiled` is
 * TypeScript's map from the JavaScript to the generated TypeScript text,
 * `lineOrigins[i]` the user's source line (0-based) of that text's line
 * `i`, or undefined for a generated line.
 */
export function composeSourceMap(
  transpiled: string,
  lineOrigins: readonly (number | undefined)[] | "identity",
  outFile: string,
  sourceFile: string,
  sourceText: string | undefined,
): string {
  const map = JSON.parse(transpiled) as { mappings: string };
  const lines = decodeMappings(map.mappings).map((line) =>
    line.flatMap((m) => {
      const origin = lineOrigins === "identity" ? m.sourceLine : lineOrigins[m.sourceLine];
      return origin === undefined ? [] : [{ column: m.column, sourceLine: origin, sourceColumn: m.sourceColumn }];
    }),
  );
  const source = path.relative(path.dirname(outFile), sourceFile).split(path.sep).join("/");
  return JSON.stringify({
    version: 3,
    file: path.basename(outFile),
    sources: [source],
    ...(sourceText === undefined ? {} : { sourcesContent: [sourceText] }),
    names: [],
    mappings: encodeMappings(lines),
  });
}
