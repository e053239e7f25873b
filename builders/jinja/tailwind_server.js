// sitegate's Tailwind compiler for one site in development, kept alive between builds.
//
// `node tailwind_server.js <the site's node_modules/tailwindcss>`. It reads one JSON request a
// line on stdin and answers each with one JSON line on stdout:
//   {"input": css file or null, "config": config file or null, "output": file to write,
//    "minify": bool, "files": [[key, path], ...], "removed": [key, ...]}
//   → {"ok": true, "compiled": bool, "fresh": bool, "patched": bool, "ms": n}
//     or {"ok": false, "error": text}
// It does what the CLI (`tailwindcss --watch`) does between rebuilds: one Tailwind context,
// fed only the content that changed; every class it ever saw stays in it, as in the CLI's watch
// mode. The content of every key is kept, so a new context (the config changed, or the
// stylesheet's `@layer` rules did beyond what patchLayers can swap in) is fed all of it again.
// When the stylesheet is as it was and the changed content brings no new rule (Tailwind's own
// extractor and generateRules decide), the CSS is the last one, written again without the rest
// of a compile. Its output is the CLI's: the same plugins around Tailwind, the same packages.
// It ends when stdin closes: its gateway is gone.
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");

const tailwind = process.argv[2];
const load = (relative) => require(path.join(tailwind, relative));
const deps = load("lib/cli/build/deps.js");
const { formatNodes } = load("lib/cli/build/utils.js");
const { createContext } = load("lib/lib/setupContextUtils.js");
const { issueFlagNotices } = load("lib/featureFlags.js");
const step = (name) => load(`lib/lib/${name}.js`).default;
const normalizeTailwindDirectives = step("normalizeTailwindDirectives");
const partitionApplyAtRules = step("partitionApplyAtRules");
const expandTailwindAtRules = step("expandTailwindAtRules");
const expandApplyAtRules = step("expandApplyAtRules");
const evaluateTailwindFunctions = step("evaluateTailwindFunctions");
const substituteScreenAtRules = step("substituteScreenAtRules");
const resolveDefaultsAtRules = step("resolveDefaultsAtRules");
const collapseAdjacentRules = step("collapseAdjacentRules");
const collapseDuplicateDeclarations = step("collapseDuplicateDeclarations");
const resolveConfig = load("resolveConfig.js");
const { loadConfig } = load("lib/lib/load-config.js");
const getModuleDependencies = load("lib/lib/getModuleDependencies.js").default;
const { defaultExtractor } = load("lib/lib/defaultExtractor.js");
const { generateRules } = load("lib/lib/generateRules.js");

const postcss = deps.loadPostcss();
const DEFAULT_CSS = "@tailwind base; @tailwind components; @tailwind utilities";
const IMPORT_COMMENT = "__TAILWIND_RESTORE_IMPORT__: ";

// key → {content, extension}: everything the site's CSS is made from.
const contents = new Map();
let context = null;
let configStamp = null;
let layerSignature = null;
// The nodes of the stylesheet's `@layer` rules the context holds as plugins, in order.
let layerNodes = [];
let sourceStamp = null;
let configFiles = [];
let cssFiles = [];
let lastCss = null;
// Counts the contexts made and patched: what was remembered of an earlier one is forgotten.
let contextGeneration = 0;

function mtimes(files) {
  return files.map((file) => {
    try {
      const info = fs.statSync(file);
      return [file, info.mtimeMs, info.size];
    } catch {
      return [file, null];
    }
  });
}

// What a context is made of besides the config: the stylesheet's `@layer` rules become plugins
// of it (setupContextUtils.js, collectLayerPlugins). A stylesheet edit elsewhere keeps it, as a
// content edit does in Tailwind's watch mode; `@config` and the old `@responsive`/`@variants`
// always make a new one.
function layersOf(root) {
  const layers = [];
  root.walkAtRules((rule) => {
    if (["config", "responsive", "variants"].includes(rule.name)) layers.push(null);
    else if (rule.name === "layer") layers.push(String(rule));
  });
  return layers.includes(null) ? null : JSON.stringify(layers);
}

// Tailwind's own steps (processTailwindFeatures.js), but for @apply: see applyRemembered.
async function tailwindFeatures(root, result, setupContext) {
  normalizeTailwindDirectives(root);
  partitionApplyAtRules()(root, result);
  const context = setupContext(root);
  if (context.tailwindConfig.separator === "-") {
    throw new Error("The '-' character cannot be used as a custom separator in JIT mode due to parsing ambiguity.");
  }
  issueFlagNotices(context.tailwindConfig);
  await expandTailwindAtRules(context)(root, result);
  partitionApplyAtRules()(root, result);
  applyRemembered(context, root, result);
  evaluateTailwindFunctions(context)(root, result);
  substituteScreenAtRules(context)(root, result);
  resolveDefaultsAtRules(context)(root, result);
  collapseAdjacentRules(context)(root, result);
  collapseDuplicateDeclarations(context)(root, result);
}

// What each rule of the context's layers with an `@apply` in it became, from earlier compiles:
// expanding them is most of a compile, and gives the same nodes every time for the same context
// and the same rules of the author's own (which an `@apply` may name). Rules of the author's
// own with an `@apply` are expanded every time.
const applied = new Map();
let appliedFor = null;

let ownRules = new Map();

function applyRemembered(context, root, result) {
  // The author's own rules (outside `@layer`): an edited one matters only if an `@apply` names it.
  const own = new Map();
  root.each((node) => {
    if (!(node.raws.tailwind && node.raws.tailwind.layer !== undefined)) own.set(String(node), node);
  });
  const edited = new Map();
  for (const [text, node] of own) if (!ownRules.has(text)) edited.set(node, node);
  for (const [text, node] of ownRules) if (!own.has(text)) edited.set(node, node);
  ownRules = own;
  const scope = [context, contextGeneration];
  if (appliedFor === null || scope.some((part, i) => part !== appliedFor[i]) || appliesAny(root, edited)) {
    applied.clear();
    appliedFor = scope;
  }
  const parents = new Set();
  root.walkAtRules("apply", (rule) => parents.add(rule.parent));
  const fresh = [];
  for (const parent of parents) {
    if (!generated(parent)) continue;
    const key = keyOf(parent);
    const known = applied.get(key);
    if (known !== undefined) {
      parent.replaceWith(known.map((node) => node.clone()));
      continue;
    }
    const start = postcss.comment({ text: "sitegate-apply" });
    const end = postcss.comment({ text: "sitegate-apply-end" });
    parent.before(start);
    parent.after(end);
    fresh.push([key, start, end]);
  }
  expandApplyAtRules(context)(root, result);
  for (const [key, start, end] of fresh) {
    const made = [];
    for (let node = start.next(); node !== undefined && node !== end; node = node.next()) made.push(node);
    if (end.parent !== undefined && start.parent === end.parent) applied.set(key, made.map((node) => node.clone()));
    start.remove();
    end.remove();
  }
}

function generated(node) {
  for (let at = node; at !== undefined && at.type !== "root"; at = at.parent) {
    if (at.raws.tailwind && at.raws.tailwind.layer !== undefined) return true;
  }
  return false;
}

function keyOf(node) {
  const path = [String(node)];
  for (let at = node.parent; at !== undefined && at.type !== "root"; at = at.parent) {
    path.push(at.type === "atrule" ? `@${at.name} ${at.params}` : at.type === "rule" ? at.selector : at.type);
  }
  return JSON.stringify(path);
}

// The top-level nodes of the `@layer base|components|utilities` rules, as collectLayerPlugins
// (setupContextUtils.js) makes each a plugin of the context.
function layerChildren(root) {
  const nodes = [];
  root.walkAtRules("layer", (rule) => {
    if (["base", "components", "utilities"].includes(rule.params)) {
      for (const node of rule.nodes) nodes.push({ layer: rule.params, node });
    }
  });
  return nodes;
}

// What decides the classes a layer node stands for (its identifiers): its selectors.
function shapeOf(node) {
  const shape = [node.type, node.type === "atrule" ? `${node.name} ${node.params}` : node.selector];
  if (node.walkRules) node.walkRules((rule) => shape.push(rule.selector));
  return JSON.stringify(shape);
}

// A stylesheet edit that changed only the insides of `@layer` rules (every node keeps its place
// and selectors: an `@apply` list, a declaration) swaps the edited nodes in the context's plugin
// table in place of a new context, which costs ten times more. Which candidates are classes at
// all cannot have changed.
function patchLayers(root) {
  const now = layerChildren(root);
  if (now.length !== layerNodes.length) return false;
  for (let i = 0; i < now.length; i++) {
    if (now[i].layer !== layerNodes[i].layer || shapeOf(now[i].node) !== shapeOf(layerNodes[i].node)) return false;
  }
  const swapped = new Map();
  for (let i = 0; i < now.length; i++) {
    if (String(now[i].node) !== String(layerNodes[i].node)) {
      swapped.set(layerNodes[i].node, now[i].node);
      layerNodes[i] = now[i];
    }
  }
  // What earlier compiles expanded stays good unless an `@apply` names a class of an edited rule.
  if (appliesAny(root, swapped)) contextGeneration += 1;
  const identifiers = [];
  for (const [identifier, entries] of context.candidateRuleMap) {
    for (const entry of entries) {
      if (Array.isArray(entry) && swapped.has(entry[1])) {
        entry[1] = swapped.get(entry[1]);
        identifiers.push(identifier);
      }
    }
  }
  // As collectLayerPlugins leaves the root: without its `@layer` rules.
  root.walkAtRules("layer", (rule) => {
    if (["base", "components", "utilities"].includes(rule.params)) rule.remove();
  });
  // The classes that may have been made from an edited rule (any whose name holds one of its
  // identifiers, with any variant) are forgotten and made again; the rest stand.
  const affected = [...context.classCache.keys()].filter((candidate) =>
    identifiers.some((identifier) => candidate.includes(identifier)),
  );
  for (const candidate of affected) {
    for (const entry of context.candidateRuleCache.get(candidate) || []) context.ruleCache.delete(entry);
    context.candidateRuleCache.delete(candidate);
    context.classCache.delete(candidate);
  }
  context.applyClassCache.clear();
  context.stylesheetCache = null;
  generateRules(new Set(affected.sort()), context);
  return true;
}

// Whether an `@apply` in `root` may name a class of the rules in `swapped` (old → new node).
function appliesAny(root, swapped) {
  if (context.tailwindConfig.prefix) return true;
  const names = new Set();
  for (const [before, after] of swapped) {
    for (const node of [before, after]) {
      const selectors = [node.selector || "", ...(node.walkRules ? collect(node) : [])];
      for (const selector of selectors) for (const name of selector.match(/-?[_a-zA-Z][\w-]*/g) || []) names.add(name);
    }
  }
  let found = false;
  const separator = context.tailwindConfig.separator || ":";
  root.walkAtRules("apply", (rule) => {
    for (const token of rule.params.split(/\s+/)) {
      const base = token.split(separator).pop().replace(/^!|!$/g, "").replace(/^-/, "");
      if (names.has(base) || names.has("-" + base)) found = true;
    }
  });
  return found;
}

function collect(node) {
  const selectors = [];
  node.walkRules((rule) => selectors.push(rule.selector));
  return selectors;
}

// The CLI's own plugins around Tailwind (lib/cli/build/plugin.js): `@import`s inlined except
// Tailwind's own, the output formatted, autoprefixed and, for production, minified.
function processor(minify, setupContext) {
  const plugins = [
    (root) => {
      root.walkAtRules("import", (rule) => {
        if (rule.params.slice(1).startsWith("tailwindcss/")) {
          rule.after(postcss.comment({ text: IMPORT_COMMENT + rule.params }));
          rule.remove();
        }
      });
    },
    deps.loadPostcssImport(),
    (root) => {
      root.walkComments((rule) => {
        if (rule.text.startsWith(IMPORT_COMMENT)) {
          rule.after(postcss.atRule({ name: "import", params: rule.text.replace(IMPORT_COMMENT, "") }));
          rule.remove();
        }
      });
    },
    {
      postcssPlugin: "tailwindcss",
      async Once(root, { result }) {
        const layers = layersOf(root);
        await tailwindFeatures(root, result, (tree) => setupContext(layers, tree));
      },
    },
    !minify && formatNodes,
    deps.loadAutoprefixer(),
    minify && deps.loadCssNano(),
  ].filter(Boolean);
  return postcss(plugins);
}

function loadSiteConfig(configPath) {
  for (const file of configFiles) delete require.cache[file];
  const config = configPath ? loadConfig(configPath) : {};
  configFiles = configPath ? [...getModuleDependencies(configPath)] : [];
  const resolved = resolveConfig(config, { content: { files: [] } });
  // The content is what sitegate hands over, never the config's own globs.
  resolved.content.files = [];
  return resolved;
}

const extractors = new WeakMap();
function defaultExtractorOf(owner) {
  if (!extractors.has(owner)) extractors.set(owner, defaultExtractor(owner));
  return extractors.get(owner);
}

// Tailwind's own choice of transformer and extractor for a file (expandTailwindAtRules.js).
function candidatesOf(item) {
  const extract = context.tailwindConfig.content.extract;
  const transform = context.tailwindConfig.content.transform;
  const extractor = extract[item.extension] || extract.DEFAULT || defaultExtractorOf(context);
  const transformer =
    transform[item.extension] ||
    transform.DEFAULT ||
    (item.extension === "svelte" ? (text) => text.replace(/(?:^|\s)class:/g, " ") : (text) => text);
  const found = new Set();
  for (const line of transformer(item.content).split("\n")) {
    for (const candidate of extractor(line.trim())) found.add(candidate);
  }
  return found;
}

// Whether `changed` can leave the CSS as it was: every class candidate in it (Tailwind's own
// extractor finds them) is one the context has generated or ruled out already, or, judged now
// as a build would judge it (generateRules), brings no rule.
function nothingNew(changed) {
  const unjudged = new Set();
  for (const item of changed) {
    for (const candidate of candidatesOf(item)) {
      if (candidate !== "!*" && !context.classCache.has(candidate) && !context.notClassCache.has(candidate)) {
        unjudged.add(candidate);
      }
    }
  }
  if (unjudged.size === 0) return true;
  const classes = context.classCache.size;
  generateRules(new Set([...unjudged].sort()), context);
  if (context.classCache.size === classes) return true;
  // New rules: the stylesheet is rebuilt from them (expandTailwindAtRules only rebuilds it
  // when the classes grow during its own run).
  context.stylesheetCache = null;
  return false;
}

async function compile(request) {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  for (const key of request.removed || []) contents.delete(key);
  const changed = [];
  for (const [key, file] of request.files || []) {
    const item = { content: fs.readFileSync(file, "utf8"), extension: path.extname(file).slice(1) };
    contents.set(key, item);
    changed.push(item);
  }
  const css = request.input ? fs.readFileSync(request.input, "utf8") : DEFAULT_CSS;
  const configNow = JSON.stringify([request.config, request.minify, mtimes(configFiles)]);
  const sourceNow = JSON.stringify([css, mtimes(cssFiles)]);
  const sameConfig = context !== null && configNow === configStamp;
  if (sameConfig && sourceNow === sourceStamp && nothingNew(changed)) {
    fs.writeFileSync(request.output, lastCss);
    return { ok: true, compiled: false, fresh: false, ms: elapsed() };
  }
  let fresh = false;
  let patched = false;
  const setupContext = (layers, root) => {
    if (sameConfig && layers !== null && layers === layerSignature) {
      context.changedContent = changed;
    } else if (sameConfig && layers !== null && layerSignature !== null && patchLayers(root)) {
      context.changedContent = changed;
      layerSignature = layers;
      patched = true;
    } else {
      context = null;
      const config = loadSiteConfig(request.config);
      layerNodes = layerChildren(root);
      context = createContext(config, [], root);
      context.changedContent = [...contents.values()];
      layerSignature = layers;
      fresh = true;
      contextGeneration += 1;
    }
    return context;
  };
  const result = await processor(request.minify, setupContext).process(css, {
    from: request.input || undefined,
    to: request.output,
  });
  // The files `@import`ed: the input itself is compared as text.
  cssFiles = result.messages.filter((message) => message.type === "dependency").map((message) => message.file);
  configStamp = JSON.stringify([request.config, request.minify, mtimes(configFiles)]);
  sourceStamp = JSON.stringify([css, mtimes(cssFiles)]);
  lastCss = result.css;
  fs.writeFileSync(request.output, lastCss);
  return { ok: true, compiled: true, fresh, patched, ms: elapsed() };
}

let queue = Promise.resolve();
readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    queue = queue.then(async () => {
      let answer;
      try {
        answer = await compile(JSON.parse(line));
      } catch (error) {
        // The next request starts from a new context: this one may be half updated.
        context = null;
        answer = { ok: false, error: String((error && error.stack) || error) };
      }
      process.stdout.write(JSON.stringify(answer) + "\n");
    });
  })
  .on("close", () => queue.then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ ok: true, ready: true }) + "\n");
