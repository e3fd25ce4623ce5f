"""English: what witnesses write, in the words they use (typos, texting shorthand, emoji)."""

from __future__ import annotations

from bot.intake.lexicon import Keyword, Lexicon, People, numbers, option_table, words
from bot.intake.model import Language

ENGLISH = Lexicon(
    language=Language.EN,
    keywords={
        # Twilio's own opt-out words, so our state agrees with what the carrier enforces.
        **dict.fromkeys(
            ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"),
            Keyword.STOP,
        ),
        **dict.fromkeys(("start", "unstop"), Keyword.START),
        **dict.fromkeys(("help", "info"), Keyword.HELP),
        "status": Keyword.STATUS,
        "delete": Keyword.DELETE,
        "restart": Keyword.RESTART,
        "skip": Keyword.SKIP,
        "english": Keyword.ENGLISH,
        "spanish": Keyword.SPANISH,
        "exit": Keyword.EXIT,
    },
    yes=words(
        "yes|y|yeah|yea|yep|yup|yes please|sure|ok|okay|k|kk|correct|right|"
        "thats right|exactly|affirmative|absolutely|of course|uh huh|mhm|yess|yesss|ye"
    ),
    no=words("no|n|nope|nah|not|no no|negative|nop|noo|nooo|wrong|incorrect|not really"),
    negators=words("not|no|dont|never|cant|cannot|wont|doesnt|isnt|aint|without|stop|nor|nothing"),
    boundaries=words("but|just|only|instead|rather|though|except|although"),
    hedges=words(
        "maybe|perhaps|probably|possibly|i guess|guess|i think|i suppose|suppose|kinda|"
        "kind of|sort of|sorta|ish|idk|dunno|i dont know|not sure|unsure|might|could be|"
        "if|unless|depends|it depends|sometimes|somewhat|i hope|hopefully|both|either"
    ),
    fillers=words(
        "please|pls|plz|option|options|number|numbers|the|a|an|ok|okay|thanks|thank you|"
        "thx|ty|i pick|i choose|i want|i need|choose|pick|is|its|it|answer|reply|my|"
        "answer is|im|i|am|hi|hello|um|uh|umm|hmm|oh|well|if you can|if possible|if u can|"
        "lol|haha|thank u|asap please"
    ),
    function_words=words(
        "me|to|a|the|you|him|her|them|us|it|i|please|pls|my|this|that|want|need|do|"
        "would|like|any|anyone|somebody|someone|ever|at|on|at all|really|for|of"
    ),
    connectors=words("and|&|+|plus|also|too|or|then"),
    numbers=numbers(
        [
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    ),
    options={
        "language": option_table(("en", "english|eng|=en|inglish|englsh"), ("es", "spanish")),
        "safe_now": option_table(
            (
                "yes",
                "safe|im safe|i am safe|fine|im fine|im ok|im okay|all good|good|im good|"
                "safe now|safe for now|im at my|at my|at a friends|with my|with family|"
                "somewhere safe|im away|i left|out of there",
            ),
            (
                "no",
                "unsafe|not safe|in danger|danger|hiding|im hiding|"
                "hes here|he is here|theyre here|they are here|outside|outside my|"
                "parked outside|at my door|at the door|following me|he found me|"
                "they found me|found me|knows where i live|help me|help now",
            ),
        ),
        "role": option_table(
            (
                "witness",
                "witness|i saw|saw it|saw what|saw the|seen it|i seen|saw everything|"
                "saw the whole|eyewitness|i watched|i was there|bystander",
            ),
            (
                "victim",
                "victim|it happened to me|i got shot|i was shot|got shot|shot me|"
                "i was attacked|attacked me|they hurt me|he hurt me|beat me|stabbed me|"
                "threatened me|i was the one|got hurt|survivor",
            ),
            (
                "family",
                "family|relative|his mom|her mom|his mother|her mother|mom of|mother of|"
                "his dad|her dad|father of|his sister|her sister|his brother|her brother|"
                "my son|my daughter|my brother|my sister|my mom|my dad|my husband|my wife|"
                "my child|my kid|my boy|my girl|my cousin|my nephew|my niece|my uncle|"
                "my aunt|my grandson|my granddaughter|my family|victims mom|victims mother|"
                "victims sister|victims brother|victims family|grandmother of|aunt of|"
                "of the victim|victims",
            ),
            (
                "other",
                "other|something else|none|none of those|neither|teacher|coach|pastor|"
                "priest|boss|coworker|landlord|social worker|reporter",
            ),
        ),
        "needs": option_table(
            (
                "move",
                "move|moving|relocate|relocating|relocation|get out|leave|leaving|"
                "move out|go somewhere|new place|new apartment|new home|out of here|"
                "out of this|get away|run away|escape",
            ),
            (
                "move_now",
                "move now|safe place|place to stay|somewhere to stay|somewhere safe|"
                "shelter|hotel|motel|tonight|for now|temporary|temporarily|right away|"
                "place to sleep|somewhere to sleep|emergency housing|safe house",
            ),
            (
                "move_permanent",
                "permanent|permanently|for good|forever|for ever|long term|new city|"
                "new life|start over somewhere",
            ),
            (
                "locks",
                "lock|locks|new locks|change locks|change the locks|locksmith|deadbolt|"
                "door|doors|camera|cameras|alarm|security|secure|secure my home|"
                "secure my house|ring camera|doorbell camera|window bars|bars|fence|"
                "motion light|motion lights|lights",
            ),
            (
                "moving_costs",
                "money|pay|paying|payment|afford|cant afford|cost|costs|rent|deposit|"
                "truck|uhaul|u haul|moving truck|funds|financial|bills|help paying|"
                "pay to move|paying to move|pay for the move|money to move|moving costs|"
                "cost of moving|money for|broke|cant pay|cannot pay|no money|dont have money|"
                "dont have the money|cant afford it",
            ),
            (
                "talk",
                "talk|talk to|someone to talk|counselor|counseling|counsellor|therapy|"
                "therapist|mental health|support|emotional|cant sleep|nightmares|"
                "keep seeing|anxiety|depressed|not ok|not okay|im not ok|breakdown|"
                "trauma|vent|listen",
            ),
            (
                "other",
                "other|something else|else|lawyer|legal|court|job|school|food|"
                "immigration|papers|childcare|medical|doctor|transportation",
            ),
        ),
        "move_where": option_table(
            (
                "in_state",
                "in state|in the state|within the state|within state|same state|"
                "this state|instate|in state is fine|stay in state|nearby|same city|"
                "close by|close to|around here|in town|across town|other side of town|"
                "another neighborhood|different neighborhood|my state",
            ),
            (
                "out_of_state",
                "out of state|outofstate|another state|other state|different state|"
                "out of the state|leave the state|outside the state|another country|"
                "in another state",
            ),
            (
                "not_sure",
                "not sure|unsure|idk|i dont know|dont know|dunno|no idea|doesnt matter|"
                "dont care|wherever|no preference",
            ),
        ),
        "how_soon": option_table(
            (
                "today",
                "today|now|right now|asap|as soon as possible|tonight|immediately|"
                "urgent|emergency|right away|this morning|this afternoon|this evening|"
                "yesterday|already|need it now|this instant",
            ),
            (
                "this_week",
                "this week|tomorrow|tmrw|tmr|in a few days|few days|next few days|"
                "couple days|couple of days|this weekend|weekend|by friday|by monday|"
                "by the weekend|within a week|by tuesday|by wednesday|by thursday|by saturday|"
                "by the end of the week|end of the week|in 2 days|in 3 days|next couple days",
            ),
            (
                "later",
                "later|no rush|not urgent|no hurry|whenever|eventually|next month|"
                "next week|in a month|few weeks|couple weeks|not yet|after|someday|"
                "not soon|sometime|next year|in a while|when you can",
            ),
        ),
        "fast_contact": option_table(
            ("text_here", "text|text me|text me here|here|yes text|texting is fine|message me"),
            (
                "only_when_i_text_first",
                "wait|wait for me|i will text|ill text|ill write|dont text|do not text|"
                "not here|dont write|wait until i write|he checks my phone",
            ),
        ),
        "more": option_table(
            ("now", "now|answer now|go ahead|sure|ok|okay|yes"),
            ("later", "later|not now|no|not yet|cant|cant now|another time"),
        ),
        "contact": option_table(
            (
                "text_here",
                "text|texts|txt|text me|texting|message|messages|msg|sms|write|"
                "write me|here|right here|this way|chat|telegram|by text|over text",
            ),
            (
                "call",
                "call|calls|call me|calling|phone call|phone me|ring me|give me a call|"
                "a call|voice|talk on the phone|by phone",
            ),
            (
                "only_when_i_text_first",
                "text first|i text first|only when i text|when i text|ill text|"
                "i will text|ill message|ill reach out|ill contact|i will contact|"
                "ill write|wait for me|wait until i|wait till i|when i can|"
                "i reach out|i contact you|only reply|dont text first|"
                "dont message first|checks my phone|goes through my phone|"
                "looks at my phone|reads my texts|reads my messages",
            ),
        ),
        "confirm": option_table(
            (
                "send",
                "send|send it|submit|go ahead|looks good|looks right|all good|"
                "its right|its correct|thats correct|perfect|good|done",
            ),
            (
                "start_over",
                "start over|start again|again|from the beginning|redo|do it again|all over",
            ),
        ),
    },
    people=People(
        self_words=words("me|i|myself|im|i am|including me|and me"),
        one=words(
            "mom|mother|mama|mommy|dad|father|papa|daddy|husband|wife|partner|"
            "boyfriend|girlfriend|bf|gf|fiance|fiancee|son|daughter|baby|newborn|infant|"
            "brother|sister|grandma|grandmother|grandpa|grandfather|granny|aunt|auntie|"
            "uncle|cousin|nephew|niece|friend|roommate|stepson|stepdaughter|stepdad|"
            "stepmom|girl|boy|toddler|grandson|granddaughter|mother in law|father in law"
        ),
        two=words("parents|twins|grandparents|my folks"),
        group=words(
            "kids|children|sons|daughters|babies|brothers|sisters|cousins|nephews|nieces|"
            "grandkids|grandchildren|others|more|people|adults|family members|persons|"
            "siblings|friends|girls|boys|teens|teenagers|roommates|of them"
        ),
        total_before=words("we are|were|there are|theres|family of|total of|a total of|all"),
        total_after=words(
            "of us|people|persons|total|in total|in all|all together|altogether|"
            "including me|counting me|with me|w me|in my family|people total|"
            "people including me|people counting me"
        ),
        excluding=words("not including me|not counting me|plus me|besides me|and me"),
        with_words=words("with|w|along with"),
        alone=words("just me|only me|me only|alone|myself|just myself|only myself|=me|=solo"),
        vague=words("or|maybe|depends|if|probably|few|a few|some|several|like|about|around"),
    ),
    declines=words(
        "skip|pass|no thanks|no thank you|rather not|rather not say|id rather not|"
        "prefer not|prefer not to say|nah|no|n|none|nothing|na|n a|nope|not now|later|"
        "dont want to|i dont want to|no comment"
    ),
    change_words=words(
        "change|edit|fix|correct|update|modify|wrong|is wrong|not right|mistake|redo|i said|i meant"
    ),
    step_names={
        "safe_now": words("safe|safe now|safety"),
        "role": words("role|who|witness|victim|you are|who i am"),
        "needs": words("help|needs|need|what i need"),
        "move_where": words("move|where|state|where to"),
        "household": words("people|number of people|how many|household|persons"),
        "how_soon": words("when|how soon|time|date|day"),
        "contact": words("contact|call|text|how to reach"),
        "safe_times": words("safe times|times|safe time|hours"),
        "story": words("what happened|story|happened"),
        "code_word": words("code word|code|password|codeword"),
    },
    markers=words(
        "hi|hello|hey|help|need|needs|please|i|im|my|the|is|are|you|want|can|how|what|"
        "where|who|safe|witness|victim|english|thanks|thank|this|that|with|from|they|we|"
        "our|brother|sister|mom|dad|family|scared|afraid|saw|shot|shooting|threatened|"
        "moving|move|lady|gave|number|know|am|was|just|and|it|of|to|in|thing"
    ),
    common=words(
        "there|their|these|those|three|then|than|them|they|that|this|what|when|where|"
        "which|while|would|could|should|about|after|again|being|before|below|between|"
        "both|down|each|from|have|here|into|just|like|more|most|much|other|only|over|"
        "same|some|such|very|well|were|will|with|your|yours|also|back|because|been|"
        "call|cell|tell|fall|wall|hall|ball|well|tall|sell|movie|love|live|lives|lived|"
        "living|loves|house|home|homes|horse|mouse|month|money|mommy|maybe|never|every|"
        "everything|everyone|nothing|something|someone|somebody|anything|anyone|"
        "think|thing|things|thank|thanks|please|people|person|little|really|right|"
        "night|tonight|today|friend|friends|school|work|working|worked|phone|phones|"
        "number|numbers|message|messages|texting|called|calling|calls|alone|about|"
        "shoot|shooting|shots|shooter|knife|police|court|threat|threats|threatened|"
        "scared|afraid|hurt|hurts|killed|kill|guns|block|blocks|looks|lookin|locked|"
        "sister|brother|mother|father|daughter|husband|children|cousin|safety|safer|"
        "happened|happen|seeing|leave|leaves|later|lately|close|closer|closed|clothes|"
        "store|stores|street|streets|place|places|stays|stayed|staying|state|states|"
        "wants|wanted|needs|needed|where|whenever|whatever|wherever|while|whole|"
        "cause|cuz|gonna|wanna|gotta|yeah|okay|sorry|sure|still|stuff|start|stop|"
        "outside|inside|around|across|along|away|again|against|already|always|"
        "moved|mover|movers|movie|mover|rents|renting|rented|deposits|trucks|"
        "texted|texts|drive|drives|driving|drove|car|cars|hotel|doors|floor"
    ),
    emoji={
        "👍": "yes",
        "👌": "yes",
        "✅": "yes",
        "✔": "yes",
        "☑": "yes",
        "🙆": "yes",
        "👎": "no",
        "❌": "no",
        "✖": "no",
        "🚫": "no",
        "🙅": "no",
        "🔒": "lock",
        "🔐": "lock",
        "🚚": "truck",
        "📞": "call",
        "☎": "call",
        "📱": "text",
        "💬": "text",
        "💵": "money",
        "💰": "money",
        "🏠": "home",
        "🔫": "gun",
    },
)
