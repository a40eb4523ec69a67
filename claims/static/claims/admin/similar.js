// The claim page's "Similar claims" panel, kept up to date as the editor types the text or the quote or
// chooses the speaker: a short pause after the last change, one request to ClaimAdmin.similar_view (JSON),
// and the list is drawn again, every value as text (never as HTML). Without the script the panel lists what
// the server found when it made the page; saving a claim much like another asks for a confirmation either way.
'use strict';
{
    const PAUSE_MS = 400;

    function start() {
        const panel = document.getElementById('similar-claims');
        const text = document.getElementById('id_text');
        if (!panel || !text) {
            return;
        }
        const quote = document.getElementById('id_quote');
        const speaker = document.getElementById('id_speaker');
        const list = panel.querySelector('.similar-claims-list');
        let timer = null;
        let latest = 0;

        function item(claim) {
            const li = document.createElement('li');
            const link = document.createElement('a');
            link.href = claim.url;
            link.textContent = claim.text;
            li.append(link, ' — ' + claim.speaker + (claim.same_speaker ? ' (same speaker)' : '') + ', ' + claim.status);
            return li;
        }

        async function lookUp() {
            const params = new URLSearchParams({
                text: text.value,
                quote: quote ? quote.value : '',
                speaker: speaker ? speaker.value : '',
                claim: panel.dataset.claim || '',
            });
            const asked = ++latest;
            let found;
            try {
                const response = await fetch(panel.dataset.url + '?' + params, {
                    headers: {Accept: 'application/json'},
                    credentials: 'same-origin',
                });
                if (!response.ok) {
                    return;
                }
                found = (await response.json()).claims;
            } catch (error) {
                return; // offline or the server busy: the list stays as it was
            }
            if (asked !== latest) {
                return; // an answer to an older question
            }
            if (found.length) {
                list.replaceChildren(...found.map(item));
            } else {
                const none = document.createElement('li');
                none.className = 'similar-claims-none';
                none.textContent = 'None found.';
                list.replaceChildren(none);
            }
        }

        function changed() {
            clearTimeout(timer);
            timer = setTimeout(lookUp, PAUSE_MS);
        }

        text.addEventListener('input', changed);
        if (quote) {
            quote.addEventListener('input', changed);
        }
        if (speaker) {
            // The autocomplete (select2) announces a choice through jQuery, not as a DOM event.
            speaker.addEventListener('change', changed);
            if (window.django && window.django.jQuery) {
                window.django.jQuery(speaker).on('change', changed);
            }
        }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
}
