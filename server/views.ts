/**
 * Server-side rendering with Handlebars: pages in views/*.hbs (and views/admin/), partials in
 * views/partials/, every page wrapped in views/layout.hbs. Templates compile once and are cached.
 * Handlebars escapes {{ }} output; the only triple-stash is the layout's {{{body}}}.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import Handlebars from 'handlebars';

/** views/ of the project, found from the sources (server/) or from the build (dist/server/). */
export const VIEWS_DIR = [join(import.meta.dirname, '..', 'views'), join(import.meta.dirname, '..', '..', 'views')].find((d) => existsSync(join(d, 'layout.hbs')))!;

export interface ViewRenderer {
  /** Render views/<page>.hbs inside the layout. */
  render(page: string, data: Record<string, unknown>): string;
  pages(): string[];
}

export function createViewRenderer(dir = VIEWS_DIR): ViewRenderer {
  const hbs = Handlebars.create();
  // {{kept "requests" "justification"}}: a field of the expired form whose action ends in /requests (server/http/drafts.ts).
  hbs.registerHelper('kept', function (this: unknown, suffix: string, field: string, options: { data: { root: { draft?: { action: string; fields: Record<string, string> } } } }) {
    const draft = options.data.root.draft;
    return draft && draft.action.endsWith(`/${suffix}`) ? (draft.fields[field] ?? '') : '';
  });
  for (const file of readdirSync(join(dir, 'partials'))) {
    if (file.endsWith('.hbs')) hbs.registerPartial(basename(file, '.hbs'), readFileSync(join(dir, 'partials', file), 'utf8'));
  }
  const templates = new Map<string, HandlebarsTemplateDelegate>();
  for (const file of listTemplates(dir)) {
    const name = relative(dir, file).replace(/\.hbs$/, '');
    templates.set(name, hbs.compile(readFileSync(file, 'utf8'), { strict: false }));
  }
  const layout = templates.get('layout');
  if (!layout) throw new Error(`no layout.hbs in ${dir}`);
  return {
    render(page, data) {
      const template = templates.get(page);
      if (!template || page === 'layout') throw new Error(`no view named ${page}`);
      return layout({ ...data, body: template(data) });
    },
    pages: () => [...templates.keys()].filter((n) => n !== 'layout'),
  };
}

function listTemplates(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'partials' && entry.name !== 'static') out.push(...listTemplates(full));
    else if (entry.isFile() && entry.name.endsWith('.hbs')) out.push(full);
  }
  return out;
}
