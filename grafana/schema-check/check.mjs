// Type-checks every dashboard in grafana/dashboards against the types Grafana publishes in
// @grafana/schema (pinned in package.json): the dashboard model (Dashboard), and each panel's
// `options` and `fieldConfig.defaults.custom` against its panel plugin's Options/FieldConfig.
//
//   dashboards/*.json --> gen/<name>.ts (object literals typed with the schema) --> tsc --strict
//
// Object literals get TypeScript's excess-property check, so an unknown or misspelled key fails,
// as does a wrong value type or a value outside an enum. The schema's enums are TypeScript enums;
// JSON holds their string values, so the generated file maps each enum to its literal values.
// Every property is optional (Lit<T> makes them so): Grafana fills defaults for what a stored
// dashboard leaves out, so only unknown keys, wrong types and wrong enum values are errors.
// Usage: npm ci && node check.mjs   (exit 1 with tsc's messages on any error)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const boards = process.argv[2] ?? join(here, "..", "dashboards");
const gen = join(here, "gen");
const composable = join(here, "node_modules", "@grafana", "schema", "dist", "types", "raw", "composable");

// Panel types whose plugin publishes its option types; any other panel type fails the check
// (a type this file does not know is not validated, so it must not pass silently).
const PANELS = new Set(readdirSync(composable));
const PROMETHEUS_ANNOTATION_KEYS = new Set(["expr", "step", "titleFormat", "tagKeys", "textFormat", "useValueForTime"]);

rmSync(gen, { recursive: true, force: true });
mkdirSync(gen);

const header = `import type { Dashboard } from "@grafana/schema";
type Lit<T> = T extends string ? \`\${T}\` : T extends (infer U)[] ? Lit<U>[] : T extends object ? { [K in keyof T]?: Lit<T[K]> } : T;
`;

const files = [];
for (const file of readdirSync(boards).filter((f) => f.endsWith(".json")).sort()) {
  const board = JSON.parse(readFileSync(join(boards, file), "utf8"));
  const lines = [header];
  const imports = new Set();
  const checks = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      if (p.type !== "row") {
        if (!PANELS.has(p.type)) throw new Error(`${file}: panel ${p.id} has type ${p.type} with no published schema`);
        imports.add(p.type);
        const ns = `p_${p.type}`;
        checks.push(`export const panel${p.id}_options: Lit<${ns}.Options> = ${JSON.stringify(p.options ?? {})};`);
        const custom = p.fieldConfig?.defaults?.custom;
        if (custom !== undefined) {
          checks.push(`export const panel${p.id}_custom: Lit<Partial<${ns}.FieldConfig>> = ${JSON.stringify(custom)};`);
        }
      }
      walk(p.panels);
    }
  };
  walk(board.panels);
  for (const t of [...imports].sort()) {
    lines.push(`import type * as p_${t} from "@grafana/schema/dist/esm/raw/composable/${t}/panelcfg/x/${schemaName(t)}";`);
  }
  // Annotation queries of the Prometheus data source keep their query at the top level (expr,
  // step, titleFormat, tagKeys): the plugin reads them there, the dashboard schema does not
  // describe them. Checked apart: only these keys, only for that data source.
  for (const a of board.annotations?.list ?? []) {
    if (a.datasource?.type === "prometheus") {
      const extra = Object.keys(a).filter((k) => PROMETHEUS_ANNOTATION_KEYS.has(k));
      for (const k of extra) {
        if (typeof a[k] !== "string") throw new Error(`${file}: annotation ${a.name}: ${k} must be a string`);
        delete a[k];
      }
      if (!extra.includes("expr")) throw new Error(`${file}: annotation ${a.name} has no expr`);
    }
  }
  lines.push(`export const dashboard: Lit<Dashboard> = ${JSON.stringify(board, null, 1)};`);
  lines.push(...checks);
  const out = join(gen, file.replace(/\.json$/, ".ts"));
  writeFileSync(out, lines.join("\n") + "\n");
  files.push(out);
}

function schemaName(type) {
  // the export names: TimeSeriesPanelCfg_types.gen, PieChartPanelCfg_types.gen, ...
  const pkg = JSON.parse(readFileSync(join(here, "node_modules", "@grafana", "schema", "package.json"), "utf8"));
  const key = Object.keys(pkg.exports).find((k) => k.includes(`/composable/${type}/panelcfg/`));
  if (!key) throw new Error(`no panelcfg export for ${type}`);
  return key.split("/").pop();
}

// Units: every fieldConfig unit must be one of Grafana's unit ids (the `id:` entries of
// @grafana/data's valueFormats/categories) or one of its custom-unit forms (prefix:, suffix:,
// si:, count:, currency:, time:, bool). @grafana/data cannot be installed as a dependency
// (13.1.3 requires @grafana/i18n 13.1.3, which is not published), so its tarball alone is
// fetched with `npm pack` into .cache/ and only that one file is read.
const dataVersion = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).grafanaDataVersion;
const cache = join(here, ".cache");
const tarball = join(cache, `grafana-data-${dataVersion}.tgz`);
if (!existsSync(tarball)) {
  mkdirSync(cache, { recursive: true });
  execFileSync("npm", ["pack", `@grafana/data@${dataVersion}`, "--pack-destination", cache, "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
}
const categories = execFileSync("tar", ["-xzOf", tarball, "package/dist/esm/valueFormats/categories.mjs"], { encoding: "utf8", maxBuffer: 1 << 26 });
const UNITS = new Set([...categories.matchAll(/\bid: "([^"]+)"/g)].map((m) => m[1]));
if (UNITS.size < 100) throw new Error(`only ${UNITS.size} unit ids read from @grafana/data ${dataVersion}`);
const CUSTOM_UNIT = /^(prefix|suffix|si|count|currency|time):.+|^bool(_yes_no|_on_off)?$/;
const badUnits = [];
for (const file of readdirSync(boards).filter((f) => f.endsWith(".json")).sort()) {
  const board = JSON.parse(readFileSync(join(boards, file), "utf8"));
  const visit = (panels) => {
    for (const p of panels ?? []) {
      const units = [p.fieldConfig?.defaults?.unit];
      for (const o of p.fieldConfig?.overrides ?? []) for (const prop of o.properties ?? []) if (prop.id === "unit") units.push(prop.value);
      for (const u of units) if (u !== undefined && !UNITS.has(u) && !CUSTOM_UNIT.test(u)) badUnits.push(`${file}: panel ${p.id} (${p.title}): unit ${u}`);
      visit(p.panels);
    }
  };
  visit(board.panels);
}
if (badUnits.length) {
  console.error(`not Grafana units (@grafana/data ${dataVersion}):\n  ${badUnits.join("\n  ")}`);
  process.exit(1);
}

const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", ...files];
try {
  execFileSync(process.execPath, [tsc, ...args], { stdio: "inherit", cwd: here });
} catch {
  process.exit(1);
}
console.log(`dashboard schema check: ${files.length} dashboards, units from @grafana/data ${dataVersion}, types from @grafana/schema ${JSON.parse(readFileSync(join(here, "node_modules", "@grafana", "schema", "package.json"), "utf8")).version}`);
