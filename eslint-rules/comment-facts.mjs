// kiln's own lint rules, loaded by eslint.config.mjs as the plugin `kiln`.
//
// `comment-facts`: a comment states what the code guarantees and which document says so, a fact
// that stays true (STYLE item 14). It reports the forms that go stale: a tracker's issue number
// ("issue 10"), a provider document by its seed file number ("seed 004", "seeds 000–002") rather
// than by what it is ("the gateway document's task query examples"), and "today"/"today's" for
// what the code did at one time. RFC sections and a Redis Cluster's seed nodes pass.

const STALE = /\bissue \d+\b|\bseeds? 0\d\d\b|\btoday'?s?\b/i;

/** @type {import("eslint").Rule.RuleModule} */
const commentFacts = {
  meta: {
    type: "suggestion",
    docs: { description: "comments state facts that stay true: no issue numbers, seed file numbers or 'today'" },
    schema: [],
    messages: {
      stale:
        "comment says '{{found}}': state what the code guarantees and name the document by what it is (e.g. \"TokenHub's guide, video section\"), not by an issue or seed number or 'today'",
    },
  },
  create(context) {
    return {
      Program() {
        for (const comment of context.sourceCode.getAllComments()) {
          const match = STALE.exec(comment.value);
          if (match) context.report({ loc: comment.loc, messageId: "stale", data: { found: match[0] } });
        }
      },
    };
  },
};

export default { meta: { name: "kiln" }, rules: { "comment-facts": commentFacts } };
