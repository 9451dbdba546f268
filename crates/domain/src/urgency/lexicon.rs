//! The concept lexicons: what a client can be telling us, each as a few patterns (see
//! [`super::pattern`] for the syntax), written from how customers of a lender and payments
//! company describe their problems, not copied from any one message.
//!
//! A concept marked negatable does not count after a negator ("not fraud", "nothing stolen");
//! concepts whose patterns carry their own negation ("didnt make", "cant log in") are not.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::pattern::Pattern;
use super::tokens::Tokens;

/// Something a message can say. The model (`super::model`) turns the set found into a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Concept {
    Fraud,
    Scam,
    IdentityTheft,
    Takeover,
    Disowned,
    CredentialsGiven,
    MoneyLeaving,
    Now,
    Money,
    MoneyGone,
    Threat,
    Legal,
    Theft,
    Blocked,
    BlockRequest,
    StopRequest,
    Medical,
    Stranded,
    Failed,
    NotArrived,
    Duplicate,
    WrongDebit,
    Late,
    LockedOut,
    DeadlineToday,
    DeadlineSoon,
    Urgent,
    Distress,
    Chase,
    Status,
    Document,
    Change,
    Praise,
    Courtesy,
    Feedback,
    OptOut,
    Info,
    Calm,
    Resolved,
    NothingLost,
    Marketing,
    CredentialChanged,
    DeadlineHours,
}

/// A set of [`Concept`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Concepts(u64);

impl Concepts {
    /// Whether `c` is in the set.
    pub fn has(self, c: Concept) -> bool {
        self.0 & (1u64 << c as u8) != 0
    }

    /// Whether any of `cs` is in the set.
    pub fn any(self, cs: &[Concept]) -> bool {
        cs.iter().any(|&c| self.has(c))
    }

    /// How many of `cs` are in the set.
    pub fn count(self, cs: &[Concept]) -> usize {
        cs.iter().filter(|&&c| self.has(c)).count()
    }

    /// Removes `c`.
    pub fn remove(&mut self, c: Concept) {
        self.0 &= !(1u64 << c as u8);
    }

    /// Adds `c` (the lexicon's matches, and the model's own inferences).
    pub fn insert(&mut self, c: Concept) {
        self.0 |= 1u64 << c as u8;
    }
}

use Concept::*;

const MONEY_OBJECTS: &str = "aed|gbp|pounds|pound|dirham*|riyal*|euro*|eur|fee|fees|bill|bills|gst|paisa|paise|pension|wages|wage|stipend|remittance|tranche|instal*|install*|money|amount*|debit*|withdraw*|transaction*|txn*|withdrew|k|lac|lacs|crore*|charge*|transfer*|transfered|deduct*|payment*|funds|fund|rs|inr|lakh*|savings|balance|salary|refund*|disburs*|cashback|payout|credit|credited|emi*|cash|upi|imps|neft|rtgs|dollars|usd|overdraft|credit_limit";

/// (concept, negatable, patterns).
const ENTRIES: &[(Concept, bool, &[&str])] = &[
    (Fraud, true, &[
        "<!about|regarding|against|report fraud* !prevention|alert|alerts|awareness|team|department|protection|tips|detection|helpline|cell|prevent*",
        "unauthori* !looking",
        "unauthoriz* !looking",
        "cloned|cloning|skimm*|skimmer",
        "hacked|hacker*|hacking",
        "misus*",
    ]),
    (Scam, true, &[
        "scam*|scammer*|swindl*|cheated|conned|duped",
        "phish* !email|emails|mail|mails|awareness|attempts|tips",
        "safe|secure|safety account",
        "is|was this|it .. you|real|genuine|legit*|true|from_you|your_staff|yours",
        "read_out|share|tell_him|give_him|send_him .. code|otp|pin|cvv",
        "says|saying|said|claims|claiming|claimed|pretending|posing .. from|of your|ur|the bank|customer_care|rbi|police|company|head_office",
        "install|download .. app|apk|anydesk|teamviewer",
        "claiming|claims|claimed|pretending|posing|says|saying|said|stating|stated to_be|hes|he_is|she_is|they_are|is|as .. bank|rbi|police|officer|customer_care|cbi|income_tax|customs|official|executive|manager|from_your",
        "transfer|move|send|deposit|shift .. into|to .. new|safe|another|different|secure account",
        "clicked .. link",
        "customer_care|helpline number .. google|internet|online",
        "asking|asked for more",
        "asked|asking|telling|told|forcing|instructed .. me|her|him|us to move|transfer|send|pay|install|share|download|deposit",
        "remote access|app",
        "anydesk|teamviewer|quicksupport|screen_shar*",
        "money laundering",
        "lottery|prize|kbc",
        "fake call*|caller*|agent*|officer*|police|website|link|app|message*|sms|executive",
        "pretend*|posing|impersonat*",
    ]),
    (IdentityTheft, true, &[
        "identity theft|fraud",
        "identity .. stolen|misused|used",
        "in|on my|her|his|our name",
        "using|used|misused my|her|his pan|aadhaar|aadhar|name|identity|documents|kyc|photo|signature",
        "fake documents|document|id|ids|kyc|signature*",
    ]),
    (IdentityTheft, false, &[
        "never|didnt|not .. got|took|taken|applied|apply|signed|opened|take|open .. loan*|account*|card*",
    ]),
    (Fraud, false, &["not|never|without authori*|authoriz*"]),
    (Takeover, true, &[
        "someone|somebody|some_one|stranger|hacker*|unknown|they .. trying .. get|log*|access*|into",
        "someone|somebody|some_one|stranger|hacker* .. has|have|got|had|is access*|into|logged",
        "login|logged|log_in|signin|sign_in .. from|on .. new|unknown|another|different device|phone|city|location|country",
        "new device",
        "beneficiar* .. added|registered",
        "added .. beneficiar*",
        "sim .. stopped|deactivated|blocked|swap*|dead|no_network|no_signal|not_working|no_service",
        "otp* .. in_a_row",
        "otps",
    ]),
    (Takeover, false, &["otp* .. didnt|not|never|dont request*|ask*|initiat*"]),
    (CredentialChanged, false, &[
        "password|pin|email|mobile|number|phone|address .. changed|reset|updated !by",
        "changed|reset|updated .. my|the password|pin|email|mobile|number|phone",
    ]),
    (Disowned, false, &[
        "didnt|never|not !able|sure .. make|made|do|done|authori*|authoriz*|request*|initiat*|recogni*|use|used|apply|applied|sign|signed|take|took|taken|open|opened|order|ordered|know_about|did|do_it|do_these|do_this|change|changed",
        "dont recogni*|know_about|know_this|know_these",
        "wasnt|not|not_even me|mine|us",
        "not_by_me|done_by_me",
        "without my|her|his|our knowledge|consent|permission|approval|authori*",
        "unknown merchant*|transaction*|debit*|charge*|payee*|beneficiar*|person|number|device|login|withdrawal*",
        "not with anybody|anyone|anybody|someone",
        "card|phone .. in_my_hand|in_my_pocket|in_my_wallet|in_my_purse|with_me",
        "havent|didnt|never|not bought|purchased|spent|ordered|shopped",
        "maine|mene|humne .. nahi|nhi|nahin kiya|kia|diya",
        "card|it with me !and",
        "home|here|still with|have my|the card",
        "someone|somebody|stranger|some_one .. using|used|withdraw*|withdrew|spending|spent|took|taken|opened|added|logged|moving|moved|transferr*|transfer*|trying|applied|accessing",
    ]),
    (CredentialsGiven, false, &[
        "gave|shared|told|entered|typed|give|share|given|disclosed .. otp*|pin|cvv|password*|card_details|card_number|details|upi_pin",
        "entered|typed .. my|her|his card|bank|account|login|netbanking",
    ]),
    (MoneyLeaving, false, &[
        "being|getting transferred|transfered|debited|withdrawn|deducted|moved|taken|spent|used|charged|emptied|drained|siphoned",
        "keep|keeps|keeping .. debit*|deduct*|charg*|withdraw*|disappearing",
        "money|amount|funds|balance|debits|charges|transactions .. keeps|keep|is|are going|leaving|disappearing|reducing|coming",
        "# debits|transactions|withdrawals|charges|txns|payments .. since|each|in_a_row|back_to_back",
        "still coming|happening|going_on",
        "again_and_again",
        "another|one_more ... just came|now|again",
        "kat raha|rahe|rha|gaya|gaye",
        "every few|couple minutes|mins|seconds|hours",
        "one_after another|other",
        "as_we_speak",
        "leaving|draining|emptying .. account*|acc",
        "transferred|transfered|moving|moved|going out",
        "# transactions|debits|withdrawals|charges|txns .. last|today|minutes|mins|hour",
    ]),
    (Now, false, &[
        "right now",
        "just found|noticed|saw|discovered|got|received|seen",
        "just now",
        "as_we_speak",
        "this moment|minute",
        "immediately|instantly|urgently",
        "# min|mins|minute|minutes ago",
        "an|one|1|half hour ago",
        "last # min|mins|minutes|hour",
        "in progress",
        "on the phone|line|call .. now|waiting",
        "hes|he|shes|she|they .. waiting|still_on",
    ]),
    (Money, false, &[MONEY_OBJECTS]),
    (MoneyGone, false, &[
        "is|are|was|has|got gone",
        "gone from",
        "emptied|drained|wiped|siphoned",
        "0|zero|nil balance",
        "balance .. 0|zero|nil",
        "account|acc|balance .. empty|emptied|nothing_left",
        "lost all|my money|savings",
        "took|taken|take my money",
    ]),
    (Threat, true, &[
        "threat*|harass*|abus*|slap*|pushed|shoved|punch*|manhandl*|physically|beat|beaten|beating|assault*|violen*|attack*|murder*|blackmail*|gaali|gali|dhamki|dhamka*|maarenge|maar_denge|extort*|intimidat*|stalk*|kidnap*|molest*|weapon*|knife|gun|goons|thugs|bouncers",
        "hit me|him|her|my|us|our",
        "hurt|harm|kill|break me|him|her|us|them|family|kids|children|his|your|legs|bones",
        "ghar|dukaan|shop pe|par|mein .. aaya|aaye|aa_gaye|baitha|baithe|khada|khade",
        "dare_hue|darr|dara_rahe|dhamka_rahe",
        "private|personal|nude|morphed|intimate photo*|pictures|pics|images|videos",
        "photo*|picture* .. on whatsapp|facebook|social|groups",
        "whatsapp|social groups",
        "post|share|leak|upload|send|viral .. my|her|his pics|photos|photo|pictures|videos|images",
        "pics|photos|pictures|videos .. online|viral|internet|everyone",
        "calling|telling|calls|called|phoning|contacting|informing|visiting|visited|messaging|harassing .. employer|office|boss|colleagues|relatives|neighbours|neighbors|mother|father|parents|wife|husband|school|teachers|friends|contacts|children|kids|family",
        "tell|inform|call|contact .. my employer|boss|colleagues|relatives|neighbours|neighbors|family|contacts|friends",
        "came|come|coming|visited|standing .. my|our home|house|office|door|shop|flat|residence",
        "at|outside my|our|the door|gate|house|home",
        "come back",
        "more men",
        "demand*|demanding cash|money|payment",
        "demand* .. transfer|pay|money|cash",
        "arrest*|jail|prison",
        "police|cbi|cyber_cell .. case|station|custody|officer|calling|called|will|coming",
        "defaulter",
        "shame|humiliat*|insult*|abusive|rude_language|filthy",
    ]),
    (Legal, true, &[
        "court|hearing|summons|warrant|tribunal|magistrate|lawyer|advocate|lawsuit|adalat|arbitration|sarfaesi",
        "auction*|seiz*|repossess*|attachment",
        "legal notice|action|case|proceedings",
        "case against",
        "file|filing|register .. case|fir",
        "appear in|before",
    ]),
    (Theft, true, &[
        "stolen|stole|snatched|robbed|lost|misplaced|missing|took|taken|theft|pickpocket* ... card*|phone*|mobile*|wallet*|purse|bag|handbag|sim|laptop|passport|cheque*|chequebook|identity|pan|aadhaar|aadhar",
        "card|cards|phone|wallet|purse|mobile gone|missing",
        "card*|phone*|mobile*|wallet*|purse|bag|handbag|sim|laptop|passport|cheque*|chequebook|mine .. stolen|stole|snatched|robbed|lost|missing|theft|pickpocket*|taken",
        "snatched|pickpocketed|mugged|robbed|burgled",
        "was|were|got|been stolen|snatched|robbed|pickpocketed|nicked",
    ]),
    (Blocked, true, &[
        "<!i|have|had|me|myself blocked|block|frozen|freezed|froze|locked|suspended|blocking|deactivated|restricted|disabled|on_hold .. account*|acc|card*|app|upi|banking|netbanking|salary|wallet|funds|money|kyc|loan*|disburs*|me|payment*|transactions",
        "account*|acc|card*|app|upi|banking|netbanking|salary|wallet|funds|kyc|disburs* .. blocked|frozen|freezed|locked|suspended|blocking|deactivated|restricted|disabled|inactive|dormant|on_hold",
    ]),
    (BlockRequest, false, &[
        "please|pls|plz|kindly block|freeze|hotlist",
        "block|freeze|lock|hotlist|deactivate|suspend|disable it|card*|account*|everything|both|all|them|my|her|his|the|this|these",
        "make .. unusable|useless|inactive",
    ]),
    (StopRequest, false, &[
        "stop|cancel|reverse|recall|hold it|them|the_transaction*|the_payment|the_transfer|transaction*|payment*|transfer*|disburs*|this_loan|the_loan",
        "transfer*|transaction*|payment*|disburs* .. be stopped|reversed|blocked|recalled|cancelled",
    ]),
    (Medical, true, &[
        "hospital*|surgery|insulin|medicine*|medication*|pharmacy|chemist|ambulance|icu|emergency|doctor*|treatment|chemo*|dialysis|accident|injured|operation_theatre|delivery|labour|ventilator|critical_condition",
    ]),
    (Stranded, false, &[
        "stranded",
        "stuck at|in .. hotel|airport|station|counter|checkout|hospital|border|abroad",
        "no cash|food",
        "no other card|way|option|money|means|account",
        "no money left|at_all|for",
        "while i|im|i_am .. abroad",
    ]),
    (Failed, true, &[
        "fail*|declin*|bounc*|rejected_by_bank|error|errors",
        "gave|dispensed|came nothing|no_cash|no_money",
        "balance|amount|money .. went_down|dropped|reduced|reduce|less|deducted",
        "but|still|and .. debited|deducted|cut",
        "pending|stuck|processing since|for",
        "showing|shows|says success|successful|pending|failed",
        "debited|deducted|cut|paid .. but|and .. shows|showing|unpaid|not_paid|overdue",
        "still shows|showing unpaid|due|overdue|pending|not_paid",
        "stuck",
    ]),
    (Failed, false, &[
        "never|didnt|not|did_not happen*|go_through|went_through|completed|successful",
        "not|isnt|doesnt|stopped working",
        "didnt|did_not|not give|dispens* cash|money",
    ]),
    (NotArrived, false, &[
        "not|never|havent|hasnt|didnt .. received|receive|reached|credited|reflect*|delivered|got|get|arrived|come",
        "no money|amount|credit|payment in|yet",
        "nothing yet",
        "nothing .. arrived|received|came|come|reached|credited",
        "except me|mine",
        "shows|showing nothing|zero",
        "credit*|receiv*|mila|mili|aaya|aayi|aya|pahunch* nahi|nahin|nhi|nai",
        "where is the|my money",
        "yet_to receive|get|be",
        "less than",
    ]),
    (Duplicate, true, &[
        "twice|double*|duplicate*|doubly",
        "two|2|three|3 times",
        "# x",
        "debited|charged|deducted|paid|billed .. again|twice",
        "two|2|three|3 debits|charges|deductions|transactions",
        "second time",
        "teen|do|char baar",
        "debited|charged|deducted|paid|billed|taken|cut|debit .. # times",
        "same emi|payment|amount|bill|transaction|charge .. twice|again",
        "multiple times",
    ]),
    (WrongDebit, true, &[
        "wrong|incorrect|extra|excess|unexpected|unknown|mistaken|erroneous .. debit*|charg*|deduct*|amount|fee*|account|emi|number",
        "by mistake",
        "even_though|despite|although",
        "lifetime free",
        "agreement|contract|terms .. says|states|mentions|said .. zero|nil|free|no|0|nothing",
        "i|already|had|have cancel*",
        "give it|my_money back",
        "reverse|reversal|refund*",
        "return one|it|the|my",
        "less than sanctioned|promised|expected|approved",
        "why .. charg*|debit*|fee|deduct*|applied|extra|cut",
        "late_fee|bounce_charge*|penalty|penal",
        "overdue .. paid",
        "paid .. overdue|late",
        "both|all were paid",
        "already paid",
        "suddenly|unilaterally reduced|cut|stopped",
        "reduced to zero",
        "closed .. still|again|debited",
    ]),
    (WrongDebit, false, &[
        "without any|prior notice|intimation|information|reason|warning",
        "without notice|intimation|warning",
        "not applied|updated",
    ]),
    (Late, true, &[
        "promised|assured|supposed_to|was_to|committed|guaranteed",
        "would|will come|reach|be_credited|be_done|be_disbursed|be_transferred|be_processed|be_refunded|be_released .. by|within|on|in",
        "was_told|were_told|told_me|assured_me|said .. would|will",
        "it_is|its now",
        "its|it_has been # days|weeks|hours",
        "its|it_has been",
        "yet_to",
        "delay*|late",
        "past the|due_date",
        "since yesterday|morning|monday|tuesday|wednesday|thursday|friday|saturday|sunday|last",
        "# hours|days|weeks now",
        "today is",
    ]),
    (Late, false, &[
        "still no|not|showing|pending|nothing|waiting",
        "nothing yet",
        "not yet",
    ]),
    (LockedOut, false, &[
        "cant|cannot|unable|not_able|couldnt|cudnt !believe|understand|find|see .. log*|login|signin|sign_in|access*|withdraw*|use|open|pay|transfer*|enter|get_into|transact",
        "locked|stuck outside|out",
        "session expire*",
        "otp* .. never|not|isnt|doesnt|didnt|no .. come*|coming|arriv*|receiv*|deliver*|get|getting",
        "reset .. isnt|not|doesnt|never|no .. coming|come*|arriv*|work*",
        "incorrect|wrong|invalid pin|password|otp|mpin",
        "pin|password|mpin .. incorrect|wrong|invalid|not_working",
        "password attempts",
        "blocking me",
        "forgot|forgotten my password|pin|mpin",
        "forgot|forgotten password|pin|mpin",
        "verification fail*",
        "tried # times",
        "logged out",
        "wont|doesnt|does_not|not let me in|log*|access|use",
        "not registered",
    ]),
    (DeadlineToday, false, &[
        "<!on|as|since|till today|tonight|tonite",
        "this evening|afternoon",
        "by evening|tonight|eod|noon|afternoon|end",
        "in|within # hours|hrs|hour|minutes|mins|hr",
        "within .. hour|hours|minutes",
        "last date|day",
        "deadline",
        "due today",
        "before evening|tonight|noon|closing",
    ]),
    (DeadlineSoon, false, &[
        "tomorrow|tmrw|tmr|tommorow|tomorow",
        "this week",
        "by monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend",
        "due|deadline .. week|friday|monday",
    ]),
    (Urgent, true, &[
        "urgent*|asap|emergency|critical",
        "immediately|quickly|fast|right_away|at_once",
        "please|pls|plz|kindly help|do_something",
        "help me|us|fast|asap",
    ]),
    (Distress, false, &[
        "scared|afraid|frightened|terrified|panic*|worried|desperate|helpless|crying|stressed|tension|shaking|nervous",
        "what do|should|can i|we do",
        "what_to_do",
        "please|pls do something",
    ]),
    (Chase, false, &[
        "still no reply|response|answer|update|one|callback",
        "not|havent|hasnt|never heard",
        "no word|news|communication|information",
        "no reply|response|answer|callback",
        "anyone|anybody|someone there",
        "why .. no|not|nobody|dont .. reply|respond|answer|help*",
        "not replying|responding|answering|helping",
        "ignor*",
        "how_many_times",
        "second|third|2nd|3rd|fourth|4th|again time|reminder|message|follow",
        "asked|requested|told .. ago",
        "waiting for .. reply|response|answer|callback",
        "nothing happened",
        "no_one|nobody replies|replied|answers|answered|helps|helped|called|told",
    ]),
    (Status, false, &[
        "status|update|updates|news|progress|confirm|clarify|advise",
        "how_much|when|what|whats|tell_me|check|know .. my|mine",
        "when will|is|can|do|does|would",
        "pending",
        "how long",
        "ticket|complaint|request|reference #",
        "where is|are",
        "track*",
        "waiting",
        "still .. pending|processing",
    ]),
    (Document, false, &[
        "statement*|certificate|noc|letter|copy|reference|police_report|pdf|document*|receipt*|schedule|proof|kyc|chequebook|passbook|invoice|form|cheque_book|reference_number",
    ]),
    (Change, false, &[
        "<!new|app|latest|recent|the|an|this|software|any change|changing|update|updating|correct|correction|modify|amend|edit",
        "add|adding|remove .. nominee|name|number|email|address|account|holder|joint|husband|wife|son|daughter|father|mother|member",
        "nominee|address|surname|spelling|tenure|mandate|autopay|prepay*|foreclos*|limit|convert|reissue|reissued|replacement|replace|resend|close|closing|closure|increase|reduce|activate|reactivate|set_up|setup|emi_date|email_id|re_issue|re_issued",
        "mobile|phone|registered number",
    ]),
    (Praise, true, &[
        "thank|thanks|thankyou|thanx|thx .. for|to|again|a_lot|so_much",
        "pass_on|convey .. thanks",
        "great|nice|cool|best|love|loved|lovely|helpful|excellent|awesome|amazing|fantastic|wonderful|brilliant|superb|smooth|informative|appreciat*|congrat*|kudos|impressed|improved|fast_lately",
        "good job|work|service|experience",
        "grateful !if",
        "well done",
        "# stars",
        "five stars",
        "happy new|diwali|holi|holidays|birthday|anniversary",
        "keep it up",
        "just|only wanted|want to say|tell|share|thank",
    ]),
    (Courtesy, true, &["thanks|thank|thankyou|thanx|thx|regards|cheers|ty !in|advance"]),
    (Feedback, false, &[
        "feedback|suggest*|suggestion*|wish|typo|spelling_mistake|redesign|colour|color|dark_mode|widget|webinar|slides|blog|article|lol|fyi|worst|horrible|ugly|terrible|hate|annoying|useless|pathetic|ridiculous",
        "you should add|have|make|consider|improve|allow|introduce",
        "would be nice|great|good|helpful",
        "maybe redesign|add|use|consider|change",
        "feature",
        "just saying",
        "thought youd|you_would|you_might want|like",
        "new app|design|look|logo|font|update|version|feature|features",
    ]),
    (OptOut, false, &[
        "unsubscri*|promotion*|promotional|promo|promos|marketing|newsletter*|spam*|dnd",
        "stop sending|calling|messaging|spamming|texting|emailing",
        "dont call|send|message|text|email me",
        "remove me",
        "not interested",
        "email|mailing|sms|telemarketing|calling list",
        "off .. list|lists",
        "opt out",
    ]),
    (Info, false, &[
        "do|does you|u|your .. offer|have|give|provide|support|accept|allow|charge",
        "which .. card|cards|loan|loans|account|accounts|plan|plans|scheme|schemes|of_your",
        "usually|generally|typically",
        "read|saw|heard .. news|article|blog",
        "are your|you .. accepted|available|open|charged|free",
        "is|are there any|a|an",
        "what is|whats a|an|the_meaning|the_difference",
        "what|whats|what_is|what_are .. rate|rates|charges|fees|eligibility|minimum|maximum|max",
        "become .. agent|partner|franchise|dsa|employee|member",
        "meaning of",
        "what does .. mean",
        "how does|do .. work",
        "who is",
        "job|jobs|opening|openings|career*|vacanc*|internship*",
        "timings|working_hours",
        "branch|branches|atm_near",
        "curious|researching|research|wondering",
        "asking for my|a",
        "friend|uncle|aunt|cousin mentioned|asked|wants",
        "in general",
        "general question|info|information|query",
        "exam|college|school|project",
        "writing .. article|blog|report",
        "interest rates",
        "planning a|to trip|travel",
        "new to",
        "available in",
        "language",
        "ceo|founder|headquarters",
        "offer|offers|festive",
        "are you planning|going",
    ]),
    (Calm, false, &[
        "no|not|in_no hurry|rush|urgency|pressure",
        "not|nothing|isnt urgent",
        "no urgent",
        "just|only checking|curious|asking|a_question|wondering|saying|planning|an_enquiry|enquiring|fyi",
        "no issue*|problem*|complaint*",
        "thinking of|about",
        "all fine|good|ok|okay|sorted",
        "not|isnt a complaint",
        "dont|do_not need anything",
        "at_your_convenience",
        "whenever you|convenient|possible",
        "no worries",
        "take_your_time",
        "not important",
    ]),
    (Resolved, false, &[
        "already reported|blocked|replaced|resolved|sorted|fixed|received|done|closed|cancelled|recovered|got_it",
        "is|was|got|been|now solved|resolved|fixed|sorted",
        "solved",
        "found it|the_card|my_card|them",
        "you|please|pls can_close|close it|this|the_ticket|the_complaint",
        "can be closed",
        "no longer need*|needed|required|an_issue",
        "it was just|only",
        "false alarm",
        "it was me",
        "turned out",
        "myself",
        "years|year ago|back",
        "what happens|would_happen if",
        "what if",
        "in case",
        "another|other|a_different company|bank|lender|app",
        "friend|cousin|uncle|aunt|colleague got|was|says|said|told",
        "last year",
    ]),
];

/// Concepts with their own small entries, kept apart so the model can weigh them alone.
const MORE_ENTRIES: &[(Concept, bool, &[&str])] = &[
    (NothingLost, false, &[
        "nothing stolen|wrong|missing|lost|taken|clicked|shared|happened",
        "no money|amount|loss .. lost|taken|gone|deducted|debited",
    ]),
    (Marketing, false, &[
        "unsubscri*|promotion*|promotional|promo|promos|marketing|telemarketing|newsletter*|spam*|dnd|offers",
    ]),
    (DeadlineHours, false, &[
        "by|before|till|until # pm|am|oclock|o_clock",
        "by|before|till|until #pm|#am",
        "in|within # hours|hrs|hour|hr|minutes|mins",
        "by|before evening|tonight|noon",
    ]),
];

/// The compiled patterns with their concepts, indexed by what their first word must be.
struct Index {
    patterns: Vec<(Concept, Pattern)>,
    exact: HashMap<&'static str, Vec<usize>>,
    stems: HashMap<&'static str, Vec<usize>>,
    number: Vec<usize>,
    longest_stem: usize,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut index = Index {
        patterns: Vec::new(),
        exact: HashMap::new(),
        stems: HashMap::new(),
        number: Vec::new(),
        longest_stem: 0,
    };
    for (concept, negatable, specs) in ENTRIES.iter().chain(MORE_ENTRIES) {
        for spec in *specs {
            let pattern = Pattern::compile(spec, *negatable);
            let id = index.patterns.len();
            let start = pattern.start();
            for word in start.exact {
                index.exact.entry(word).or_default().push(id);
            }
            for stem in start.stems {
                index.longest_stem = index.longest_stem.max(stem.len());
                index.stems.entry(stem).or_default().push(id);
            }
            if start.number {
                index.number.push(id);
            }
            index.patterns.push((*concept, pattern));
        }
    }
    index
});

/// Every concept the message says. Only the patterns whose first word is there are tried.
pub(crate) fn concepts_in(tokens: &Tokens) -> Concepts {
    let index = &*INDEX;
    let mut found = Concepts::default();
    let try_all = |ids: &[usize], i: usize, found: &mut Concepts| {
        for &id in ids {
            if let Some((concept, pattern)) = index.patterns.get(id) {
                if !found.has(*concept) && pattern.matches_at(tokens, i) {
                    found.insert(*concept);
                }
            }
        }
    };
    for i in 0..tokens.len() {
        let word = tokens.word(i);
        if let Some(ids) = index.exact.get(word) {
            try_all(ids, i, &mut found);
        }
        for (end, _) in word.char_indices().skip(1).chain([(word.len(), ' ')]) {
            if end > index.longest_stem {
                break;
            }
            if let Some(ids) = word.get(..end).and_then(|stem| index.stems.get(stem)) {
                try_all(ids, i, &mut found);
            }
        }
        if word.bytes().all(|b| b.is_ascii_digit()) {
            try_all(&index.number, i, &mut found);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_concept_fits_the_set() {
        assert!((DeadlineHours as u8) < 64);
        let patterns: usize = ENTRIES
            .iter()
            .chain(MORE_ENTRIES)
            .map(|(_, _, specs)| specs.len())
            .sum();
        assert_eq!(INDEX.patterns.len(), patterns);
    }

    #[test]
    fn harmless_uses_are_not_alarms() {
        let c = concepts_in(&Tokens::new("I read your blog about fraud prevention"));
        assert!(!c.has(Fraud));
        let c = concepts_in(&Tokens::new("the road is blocked by construction"));
        assert!(!c.has(Blocked));
        let c = concepts_in(&Tokens::new("Stolen idea maybe, but add split bills"));
        assert!(!c.has(Theft));
        let c = concepts_in(&Tokens::new("my phone was stolen"));
        assert!(c.has(Theft));
    }
}
