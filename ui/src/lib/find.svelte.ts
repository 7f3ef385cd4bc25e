// The find state of the window: the query, its hits in reading order and
// the current match. Kept while the reader opens hits, so the list can be
// shown again and next / previous step through it.

import type { SearchHit } from "./backend";
import { allMatches, firstOf, readingOrder, step, viewAt, type FindView } from "./find";

export class FindStore {
  query = $state("");
  scope = $state<"meeting" | "all">("meeting");
  hits = $state.raw<SearchHit[] | null>(null);
  pos = $state(0);
  /** Whether the reader shows the find bar (a hit was opened and not closed). */
  active = $state(false);

  readonly total = $derived(this.hits ? allMatches(this.hits).length : 0);
  readonly view: FindView | null = $derived(this.active && this.hits ? viewAt(this.hits, this.pos) : null);

  setHits(hits: SearchHit[] | null) {
    this.hits = hits ? readingOrder(hits) : null;
    this.pos = 0;
  }
  /** Opens a hit of the list (its first match). */
  open(hit: number) {
    if (!this.hits) return;
    this.pos = Math.max(0, firstOf(this.hits, hit));
    this.active = true;
  }
  next() {
    this.pos = step(this.pos, this.total, 1);
  }
  prev() {
    this.pos = step(this.pos, this.total, -1);
  }
  close() {
    this.active = false;
  }
}
