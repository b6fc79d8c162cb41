/** Owners remembered at most (a long-lived server appends to many runs; a miss costs one index lookup). */
const maxOwners = 10_000

/**
 * The last event seq this connection stored for each owner it appended to recently, so that appending an
 * event is one INSERT and does not also rewrite the owner's row. Only a hint: the events table is the truth
 * (its primary key refuses a seq twice), a miss reads MAX(seq) back, and a conflict (another connection
 * appended meanwhile) or a rolled-back transaction forgets the owner.
 */
export class LastSeqs {
  private readonly seqs = new Map<string, number>()

  get(owner: string): number | undefined {
    return this.seqs.get(owner)
  }

  set(owner: string, seq: number): void {
    // Re-inserted, so the Map's order is least recently appended first: that one goes when full.
    this.seqs.delete(owner)
    this.seqs.set(owner, seq)
    if (this.seqs.size > maxOwners) this.seqs.delete(this.seqs.keys().next().value!)
  }

  forget(owner: string): void {
    this.seqs.delete(owner)
  }

  get size(): number {
    return this.seqs.size
  }
}
