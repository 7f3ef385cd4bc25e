// The annotation model of one paper: the list the reader draws, and an
// undo/redo command stack over it.
//
// Pure TypeScript, no I/O (sans-IO, like the sync engine): every change
// returns the `Effect`s the caller must send to the backend (save or delete),
// so the model is tested without a backend and the component stays a thin
// loop: `for (const e of model.undo()) await run(e)`.
//
// Ids are never reused: undoing a delete (or redoing an add) re-creates the
// annotation under a fresh id, because the hub's log may refuse to resurrect
// a deleted id. The stack entries are rewritten to the new id so later
// undo/redo steps still address the right annotation.

import type { AnnotationView, Box, Rect, TextPage } from "./backend";

export type Effect = { kind: "save"; annotation: AnnotationView } | { kind: "delete"; id: string };

type Command =
  | { kind: "add"; annotation: AnnotationView }
  | { kind: "edit"; before: AnnotationView; after: AnnotationView }
  | { kind: "delete"; annotation: AnnotationView };

/** Editable fields of an annotation. */
export type AnnotationPatch = Partial<Pick<AnnotationView, "shape" | "color" | "text" | "visibility">>;

/** An id made only of `[A-Za-z0-9_-]`, from crypto.randomUUID. */
export function newAnnotationId(): string {
  return `a_${crypto.randomUUID().replace(/-/g, "")}`;
}

export interface ModelOptions {
  newId?: () => string;
  now?: () => number;
  /** How many steps undo can go back. */
  limit?: number;
}

export class AnnotationModel {
  #items = new Map<string, AnnotationView>();
  #undo: Command[] = [];
  #redo: Command[] = [];
  readonly #newId: () => string;
  readonly #now: () => number;
  readonly #limit: number;

  constructor(initial: AnnotationView[] = [], options: ModelOptions = {}) {
    for (const a of initial) this.#items.set(a.id, a);
    this.#newId = options.newId ?? newAnnotationId;
    this.#now = options.now ?? Date.now;
    this.#limit = options.limit ?? 100;
  }

  /** Sorted by page, then by position (top first), then by time. */
  list(): AnnotationView[] {
    return [...this.#items.values()].sort(
      (a, b) => a.page - b.page || anchorY(b) - anchorY(a) || a.updatedAt - b.updatedAt,
    );
  }

  get(id: string): AnnotationView | undefined {
    return this.#items.get(id);
  }

  get canUndo(): boolean {
    return this.#undo.length > 0;
  }
  get canRedo(): boolean {
    return this.#redo.length > 0;
  }

  /** Adds a new annotation; `id`, `updatedAt` and `state` are filled in. */
  add(draft: Omit<AnnotationView, "id" | "updatedAt" | "state">): { annotation: AnnotationView; effects: Effect[] } {
    const annotation: AnnotationView = { ...draft, id: this.#newId(), updatedAt: this.#now(), state: "saved" };
    this.#push({ kind: "add", annotation });
    this.#items.set(annotation.id, annotation);
    return { annotation, effects: [{ kind: "save", annotation }] };
  }

  edit(id: string, patch: AnnotationPatch): Effect[] {
    const before = this.#items.get(id);
    if (!before) return [];
    const after: AnnotationView = { ...before, ...patch, updatedAt: this.#now(), state: "saved" };
    this.#push({ kind: "edit", before, after });
    this.#items.set(id, after);
    return [{ kind: "save", annotation: after }];
  }

  delete(id: string): Effect[] {
    const annotation = this.#items.get(id);
    if (!annotation) return [];
    this.#push({ kind: "delete", annotation });
    this.#items.delete(id);
    return [{ kind: "delete", id }];
  }

  undo(): Effect[] {
    const cmd = this.#undo.pop();
    if (!cmd) return [];
    const effects = this.#revert(cmd);
    this.#redo.push(cmd);
    return effects;
  }

  redo(): Effect[] {
    const cmd = this.#redo.pop();
    if (!cmd) return [];
    const effects = this.#apply(cmd);
    this.#undo.push(cmd);
    return effects;
  }

  /** Records what the backend stored (e.g. the delivery state) without touching the stacks. */
  stored(view: AnnotationView): void {
    if (this.#items.has(view.id)) this.#items.set(view.id, view);
  }

  /** Replaces the list with the backend's (after an `annotations-changed` event). */
  reset(views: AnnotationView[]): void {
    this.#items = new Map(views.map((v) => [v.id, v]));
  }

  #push(cmd: Command): void {
    this.#undo.push(cmd);
    if (this.#undo.length > this.#limit) this.#undo.shift();
    this.#redo = [];
  }

  #revert(cmd: Command): Effect[] {
    switch (cmd.kind) {
      case "add":
        this.#items.delete(cmd.annotation.id);
        return [{ kind: "delete", id: cmd.annotation.id }];
      case "edit":
        return this.#restore(cmd.before);
      case "delete":
        return this.#recreate(cmd);
    }
  }

  #apply(cmd: Command): Effect[] {
    switch (cmd.kind) {
      case "add":
        return this.#recreate(cmd);
      case "edit":
        return this.#restore(cmd.after);
      case "delete":
        this.#items.delete(cmd.annotation.id);
        return [{ kind: "delete", id: cmd.annotation.id }];
    }
  }

  #restore(view: AnnotationView): Effect[] {
    const restored = { ...view, updatedAt: this.#now(), state: "saved" as const };
    this.#items.set(restored.id, restored);
    return [{ kind: "save", annotation: restored }];
  }

  /** Re-creates a removed annotation under a fresh id and retargets the stacks. */
  #recreate(cmd: Extract<Command, { kind: "add" | "delete" }>): Effect[] {
    const oldId = cmd.annotation.id;
    const fresh: AnnotationView = { ...cmd.annotation, id: this.#newId(), updatedAt: this.#now(), state: "saved" };
    for (const c of [...this.#undo, ...this.#redo, cmd]) retarget(c, oldId, fresh.id);
    this.#items.set(fresh.id, fresh);
    return [{ kind: "save", annotation: fresh }];
  }
}

function retarget(cmd: Command, from: string, to: string): void {
  if (cmd.kind === "edit") {
    if (cmd.before.id === from) cmd.before = { ...cmd.before, id: to };
    if (cmd.after.id === from) cmd.after = { ...cmd.after, id: to };
  } else if (cmd.annotation.id === from) {
    cmd.annotation = { ...cmd.annotation, id: to };
  }
}

/** The y of an annotation's top (for ordering), PDF points. */
function anchorY(a: AnnotationView): number {
  const s = a.shape;
  switch (s.kind) {
    case "highlight":
      return Math.max(...s.rects.map((r) => r.top), 0);
    case "ink":
      return Math.max(...s.strokes.flat().map((p) => p.y), 0);
    case "note":
      return s.at.y;
  }
}

// ---------------------------------------------------------------- snapping

/**
 * The highlight rectangles for the characters `start..end` (end exclusive)
 * of a page: character boxes merged into one rectangle per line, so the
 * highlight hugs the text whatever the mouse did.
 *
 * Boxes of zero area (line breaks, some spaces) are skipped; a box starts a
 * new line when it does not overlap the current line vertically by at least
 * half of the smaller height, or when it jumps back to the left.
 */
export function snapHighlight(page: TextPage, start: number, end: number): Rect[] {
  const lo = Math.max(0, Math.min(start, end));
  const hi = Math.min(page.boxes.length, Math.max(start, end));
  const rects: Rect[] = [];
  let cur: Rect | null = null;
  for (let i = lo; i < hi; i++) {
    const box = page.boxes[i];
    if (!box || isEmpty(box)) continue;
    const [l, b, r, t] = box;
    if (cur && sameLine(cur, box)) {
      cur.left = Math.min(cur.left, l);
      cur.right = Math.max(cur.right, r);
      cur.bottom = Math.min(cur.bottom, b);
      cur.top = Math.max(cur.top, t);
    } else {
      cur = { left: l, bottom: b, right: r, top: t };
      rects.push(cur);
    }
  }
  return rects;
}

function isEmpty([l, b, r, t]: Box): boolean {
  return !(r > l) || !(t > b);
}

function sameLine(line: Rect, [l, b, , t]: Box): boolean {
  const overlap = Math.min(line.top, t) - Math.max(line.bottom, b);
  const minHeight = Math.min(line.top - line.bottom, t - b);
  return overlap >= minHeight / 2 && l >= line.left - 1;
}

/** Merges a set of boxes (e.g. a search hit's) into line rectangles. */
export function boxesToRects(boxes: Box[]): Rect[] {
  return snapHighlight({ width: 0, height: 0, text: "", boxes }, 0, boxes.length);
}
