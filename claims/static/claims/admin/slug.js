/*global URLify*/
// Slugs the admin prepopulates keep numbers apart. Django's URLify drops punctuation, so "1.5 million"
// became "15-million"; punctuation between digits now becomes a hyphen first ("1-5-million"), the rule of
// claims.models.slug_for on the server. Loaded after Django's urlify.js, which prepopulate.js calls as typed.
'use strict';
{
    const djangoURLify = window.URLify;
    const punctuationBetweenDigits = /(?<=\p{Nd})[^\p{L}\p{N}_\s-]+(?=\p{Nd})/gu;
    window.URLify = function(s, num_chars, allowUnicode) {
        return djangoURLify(s.replace(punctuationBetweenDigits, '-'), num_chars, allowUnicode);
    };
}
