import { describe, expect, it } from "vitest";
import type { Box, TextPage } from "./backend";
import { AnnotationModel, boxesToRects, newAnnotationId, snapHighlight } from "./annotations";

function model() {
  let n = 0;
  let clock = 1000;
  return new AnnotationModel([], { newId: () => `id${++n}`, now: () => ++clock });
}

const draft = {
  documentId: "d1",
  version: 1,
  page: 0,
  shape: { kind: "note" as const, at: { x: 100, y: 700 } },
  color: "#ffd54f",
  text: "Đề nghị làm rõ",
  visibility: "private" as const,
};

describe("AnnotationModel", () => {
  it("adds with a fresh id, private by default as drafted, state 'saved'", () => {
    const m = model();
    const { annotation, effects } = m.add(draft);
    expect(annotation).toMatchObject({ id: "id1", state: "saved", visibility: "private" });
    expect(effects).toEqual([{ kind: "save", annotation }]);
    expect(m.list()).toEqual([annotation]);
  });

  it("edits, and undo restores the previous text; redo re-applies", () => {
    const m = model();
    const { annotation } = m.add(draft);
    m.edit(annotation.id, { text: "Sửa lại", visibility: "shared" });
    expect(m.get("id1")).toMatchObject({ text: "Sửa lại", visibility: "shared" });
    const undo = m.undo();
    expect(undo).toHaveLength(1);
    expect(undo[0]).toMatchObject({ kind: "save", annotation: { id: "id1", text: "Đề nghị làm rõ", visibility: "private" } });
    m.redo();
    expect(m.get("id1")?.text).toBe("Sửa lại");
  });

  it("undo of an add deletes it; redo re-creates it under a new id (ids are never reused)", () => {
    const m = model();
    m.add(draft);
    expect(m.undo()).toEqual([{ kind: "delete", id: "id1" }]);
    expect(m.list()).toEqual([]);
    const redo = m.redo();
    expect(redo[0]).toMatchObject({ kind: "save", annotation: { id: "id2" } });
    expect(m.list().map((a) => a.id)).toEqual(["id2"]);
    // and undo after that deletes the re-created one
    expect(m.undo()).toEqual([{ kind: "delete", id: "id2" }]);
  });

  it("delete is undoable (nothing is deleted without undo) and later steps follow the new id", () => {
    const m = model();
    m.add(draft);
    m.edit("id1", { text: "v2" });
    expect(m.delete("id1")).toEqual([{ kind: "delete", id: "id1" }]);
    expect(m.list()).toEqual([]);
    const undo = m.undo();
    expect(undo[0]).toMatchObject({ kind: "save", annotation: { id: "id2", text: "v2" } });
    // undoing the edit now addresses the re-created annotation
    expect(m.undo()[0]).toMatchObject({ kind: "save", annotation: { id: "id2", text: "Đề nghị làm rõ" } });
    expect(m.list().map((a) => a.id)).toEqual(["id2"]);
  });

  it("a new change clears the redo stack", () => {
    const m = model();
    m.add(draft);
    m.undo();
    expect(m.canRedo).toBe(true);
    m.add(draft);
    expect(m.canRedo).toBe(false);
    expect(m.redo()).toEqual([]);
  });

  it("stored() records the delivery state without adding an undo step", () => {
    const m = model();
    const { annotation } = m.add(draft);
    m.stored({ ...annotation, state: "sent" });
    expect(m.get("id1")?.state).toBe("sent");
    m.undo();
    expect(m.canUndo).toBe(false);
  });

  it("editing or deleting an unknown id does nothing", () => {
    const m = model();
    expect(m.edit("nope", { text: "x" })).toEqual([]);
    expect(m.delete("nope")).toEqual([]);
    expect(m.canUndo).toBe(false);
  });

  it("lists by page, then top of page first", () => {
    const m = model();
    m.add({ ...draft, page: 1 });
    m.add({ ...draft, shape: { kind: "note", at: { x: 0, y: 100 } } });
    m.add({ ...draft, shape: { kind: "note", at: { x: 0, y: 800 } } });
    expect(m.list().map((a) => a.id)).toEqual(["id3", "id2", "id1"]);
  });

  it("makes safe ids", () => {
    expect(newAnnotationId()).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

/** Two lines of text, 6pt per char, lines at y 700..712 and 680..692, "\n" as an empty box. */
function page(): TextPage {
  const text = "Nghị quyết\nsố 45";
  const boxes: Box[] = [];
  let x = 72;
  let line = 0;
  for (const ch of text) {
    if (ch === "\n") {
      boxes.push([x, 700, x, 700]);
      x = 72;
      line++;
      continue;
    }
    const b = 700 - line * 20;
    boxes.push([x, b, x + 6, b + 12]);
    x += 6;
  }
  return { width: 595, height: 842, text, boxes };
}

describe("snapHighlight", () => {
  it("merges the selected characters of one line into one rectangle", () => {
    expect(snapHighlight(page(), 0, 4)).toEqual([{ left: 72, bottom: 700, right: 96, top: 712 }]);
  });

  it("gives one rectangle per line across a line break, skipping the empty break box", () => {
    expect(snapHighlight(page(), 5, 16)).toEqual([
      { left: 102, bottom: 700, right: 132, top: 712 },
      { left: 72, bottom: 680, right: 102, top: 692 },
    ]);
  });

  it("accepts a backwards selection and clamps out-of-range indices", () => {
    expect(snapHighlight(page(), 4, 0)).toEqual(snapHighlight(page(), 0, 4));
    expect(snapHighlight(page(), -5, 999)).toHaveLength(2);
    expect(snapHighlight(page(), 3, 3)).toEqual([]);
  });

  it("merges search-hit boxes the same way", () => {
    expect(boxesToRects(page().boxes.slice(0, 2))).toEqual([{ left: 72, bottom: 700, right: 84, top: 712 }]);
  });
});
