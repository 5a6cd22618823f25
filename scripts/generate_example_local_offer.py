"""Generate school_data/example_local_offer.json (EXAMPLE data, ORUK 3.0 shape).
Deterministic: every id is uuid5(NS, "<kind>:<name>") so re-runs give identical output."""

import json
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://example.org/council/local-offer/example-data")


def uid(*parts):
    return str(uuid.uuid5(NS, ":".join(parts)))


glossary = yaml.safe_load(open(ROOT / "knowledge/content/glossary.yml"))
ST = {i["key"]: i["label"] for i in glossary["service_types"]}
AN = {i["key"]: i["label"] for i in glossary["areas_of_need"]}

ST_DESC = {
    "speech_and_language_therapy": "Assessment and therapy for speech, language, communication and swallowing.",
    "occupational_therapy": "Help with everyday skills such as dressing, handwriting, sensory needs and equipment.",
    "physiotherapy": "Help with movement, posture, strength and mobility.",
    "educational_psychology": "Assessment and advice on learning, development and wellbeing from educational psychologists.",
    "short_breaks": "Activities and care that give disabled children new experiences and their families a break.",
    "holiday_activities": "Play schemes and activities during the school holidays.",
    "parent_support": "Groups, courses and peer support for parents and carers.",
    "autism_support": "Advice and support for autistic children and young people, their families and schools.",
    "sensory_support": "Specialist teaching and advice for children with hearing or vision impairment.",
    "mental_health": "Support for emotional wellbeing and mental health, including CAMHS.",
    "specialist_teaching": "Specialist and advisory teachers who support schools with children's learning needs.",
    "early_years": "Support for babies and young children with SEND before they start school.",
    "preparing_for_adulthood": "Support with moving on to college, work, independent living and adult services.",
    "transport": "Help with getting to school or college, including transport and travel training.",
    "information_advice": "Free, impartial and confidential information, advice and support about SEND.",
}
AN_DESC = {
    "communication_and_interaction": "Speech, language and communication needs, including autism.",
    "cognition_and_learning": "Learning difficulties, including specific learning difficulties such as dyslexia.",
    "social_emotional_mental_health": "Social, emotional and mental health difficulties, including ADHD and anxiety.",
    "sensory_and_physical": "Hearing or vision impairment, multi-sensory impairment or physical disability.",
}


def term(taxonomy, key, label, desc):
    return {
        "id": uid("taxonomy_term", taxonomy, key),
        "code": key,
        "name": label,
        "description": desc,
        "taxonomy": taxonomy,
        "term_uri": None,
    }


ORGS = {
    "health": (
        "Exampletown Children's Community Health Services (example data)",
        "NHS community health services for children in Exampletown. This is made-up example data.",
        "https://example.org/childrens-health",
    ),
    "council": (
        "Example Borough Council (example data)",
        "The local authority for Exampletown. This is made-up example data.",
        "https://example.org/council",
    ),
    "trust": (
        "Example County NHS Foundation Trust (example data)",
        "NHS mental health trust for Example County. This is made-up example data.",
        "https://example.org/nhs-trust",
    ),
    "college": (
        "Exampletown College (example data)",
        "General further education college in Exampletown. This is made-up example data.",
        "https://example.org/college",
    ),
    "play": (
        "Exampletown Play and Leisure Trust (example data)",
        "Local charity running inclusive play and leisure for disabled children. This is made-up example data.",
        "https://example.org/play-trust",
    ),
    "pcf": (
        "Example Borough Parent Carer Forum (example data)",
        "Independent group of parents and carers of children with SEND. This is made-up example data.",
        "https://example.org/parent-carer-forum",
    ),
    "sendiass": (
        "Example Borough SENDIASS (example data)",
        "SEND Information, Advice and Support Service for Example Borough. This is made-up example data.",
        "https://example.org/sendiass",
    ),
}
LOCS = {
    "health_centre": ("Exampletown Child Development Centre (example data)", "1 Example Road", "EX1 1AA"),
    "civic": ("Exampletown Civic Centre (example data)", "10 Sample Street", "EX1 2AB"),
    "camhs": ("Example House CAMHS Clinic (example data)", "25 Demo Lane", "EX2 3CD"),
    "college": ("Exampletown College Main Campus (example data)", "100 College Way", "EX3 4EF"),
    "play": ("Exampletown Inclusive Play Centre (example data)", "5 Park Avenue", "EX4 5GH"),
    "hub": ("Exampletown Family Hub (example data)", "2 Market Square", "EX1 6JK"),
    "pool": ("Exampletown Hydrotherapy Pool (example data)", "3 Example Road", "EX1 1AB"),
}

# slug, name, service_type, needs, org, loc, min, max, status, description, email, contact(name,title,phone), costs, assured
FREE = [(0, "Free", "Free for children and young people who live in Example Borough.")]
S = [
    (
        "slt",
        "Exampletown Children's Speech and Language Therapy Service (example data)",
        "speech_and_language_therapy",
        ["communication_and_interaction"],
        "health",
        "health_centre",
        0,
        18,
        "active",
        "Assesses and supports children with speech, language, communication or swallowing difficulties. Referral by GP, health visitor or school SENCo. Parents of under-5s can self-refer by phone.",
        "slt@example.org",
        ("Referrals team", "Speech and language therapy referrals", "01632 960401"),
        FREE,
    ),
    (
        "ot",
        "Exampletown Children's Occupational Therapy Service (example data)",
        "occupational_therapy",
        ["sensory_and_physical"],
        "health",
        "health_centre",
        0,
        18,
        "active",
        "Helps children manage everyday tasks such as dressing, eating, handwriting and sensory needs, and assesses for equipment. Referral by GP, paediatrician or school SENCo.",
        "ot@example.org",
        ("Referrals team", "Occupational therapy referrals", "01632 960402"),
        FREE,
    ),
    (
        "physio",
        "Exampletown Children's Physiotherapy Service (example data)",
        "physiotherapy",
        ["sensory_and_physical"],
        "health",
        "health_centre",
        0,
        19,
        "active",
        "Assesses and treats children with movement, posture or mobility difficulties, and gives exercise programmes for home and school. Referral by GP, paediatrician or health visitor.",
        "physio@example.org",
        ("Referrals team", "Physiotherapy referrals", "01632 960403"),
        FREE,
    ),
    (
        "hydro",
        "Exampletown Hydrotherapy Pool Sessions (example data)",
        "physiotherapy",
        ["sensory_and_physical"],
        "health",
        "pool",
        2,
        18,
        "temporarily closed",
        "Warm-water sessions for children with physical disabilities, led by a physiotherapist. Currently closed for pool repairs. Booking is through your child's physiotherapist.",
        "hydrotherapy@example.org",
        ("Pool bookings", "Hydrotherapy bookings", "01632 960404"),
        [(4, "£4 per session", "Per 30-minute family session.")],
    ),
    (
        "ep",
        "Example Borough Educational Psychology Service (example data)",
        "educational_psychology",
        ["cognition_and_learning", "social_emotional_mental_health", "communication_and_interaction"],
        "council",
        "civic",
        0,
        25,
        "active",
        "Educational psychologists assess learning, development and wellbeing and advise families and schools. Access is through your child's school or nursery SENCo, or as part of an EHC needs assessment.",
        "eps@example.org",
        ("Duty psychologist", "Educational psychology duty line", "01632 960410"),
        FREE,
    ),
    (
        "autism",
        "Example Borough Autism Outreach Team (example data)",
        "autism_support",
        ["communication_and_interaction"],
        "council",
        "civic",
        4,
        18,
        "active",
        "Specialist teachers who advise schools and families on supporting autistic pupils, with or without a diagnosis. Referral by school SENCo; parents can phone the advice line.",
        "autism.outreach@example.org",
        ("Advice line", "Autism outreach advice line", "01632 960411"),
        FREE,
    ),
    (
        "sensory",
        "Example Borough Sensory Support Service: Hearing and Vision (example data)",
        "sensory_support",
        ["sensory_and_physical"],
        "council",
        "civic",
        0,
        25,
        "active",
        "Teachers of the deaf and of vision impairment support children at home, nursery, school and college. Referral by audiology, eye clinic, health visitor or school; parents can also contact directly.",
        "sensory.support@example.org",
        ("Service office", "Sensory support office", "01632 960412"),
        FREE,
    ),
    (
        "specialist_teaching",
        "Example Borough Specialist Teaching Service (example data)",
        "specialist_teaching",
        ["cognition_and_learning"],
        "council",
        "civic",
        4,
        16,
        "active",
        "Advisory teachers help schools plan support for pupils with learning difficulties such as dyslexia. Schools make the referral; speak to your child's SENCo.",
        "specialist.teaching@example.org",
        ("Team manager", "Specialist teaching service", "01632 960413"),
        FREE,
    ),
    (
        "portage",
        "Exampletown Portage Home Visiting Service (example data)",
        "early_years",
        ["communication_and_interaction", "cognition_and_learning", "sensory_and_physical"],
        "council",
        "hub",
        0,
        5,
        "active",
        "Home visits to play and learn with babies and young children who have SEND, before they start school. Referral by health visitor, paediatrician or parents themselves.",
        "portage@example.org",
        ("Portage co-ordinator", "Portage service", "07700 900401"),
        FREE,
    ),
    (
        "transport",
        "Example Borough Home to School Travel Assistance (example data)",
        "transport",
        [
            "communication_and_interaction",
            "cognition_and_learning",
            "social_emotional_mental_health",
            "sensory_and_physical",
        ],
        "council",
        "civic",
        4,
        25,
        "active",
        "Help getting to school or college for eligible children and young people with SEND, including travel training, bus passes and shared transport. Apply online to the council.",
        "school.transport@example.org",
        ("Travel assistance team", "School travel assistance", "01632 960414"),
        [
            (0, "Free", "Free for eligible children of compulsory school age."),
            (650, "£650 per year", "Post-16 contribution; reduced charge for low-income families."),
        ],
    ),
    (
        "camhs",
        "Exampletown CAMHS: Child and Adolescent Mental Health Service (example data)",
        "mental_health",
        ["social_emotional_mental_health"],
        "trust",
        "camhs",
        0,
        18,
        "active",
        "Assessment and treatment for children and young people with significant mental health difficulties. Referral by GP or school; young people aged 14 and over can self-refer.",
        "camhs@example.org",
        ("Single point of access", "CAMHS referrals", "01632 960420"),
        FREE,
    ),
    (
        "internships",
        "Exampletown College Supported Internships (example data)",
        "preparing_for_adulthood",
        ["cognition_and_learning", "communication_and_interaction"],
        "college",
        "college",
        16,
        25,
        "active",
        "A one-year, work-based study programme for young people with an EHC plan, with a job coach, to prepare for paid work. Apply through the college or your SEND caseworker.",
        "internships@example.org",
        ("Admissions", "Supported internships admissions", "01632 960430"),
        FREE,
    ),
    (
        "saturday",
        "Exampletown Saturday Club Short Break (example data)",
        "short_breaks",
        ["communication_and_interaction", "cognition_and_learning", "sensory_and_physical"],
        "play",
        "play",
        8,
        18,
        "active",
        "Supported Saturday activities for disabled children, giving families a short break. Parents can self-refer; a short breaks eligibility check is done first.",
        "saturday.club@example.org",
        ("Bookings", "Short breaks bookings", "01632 960440"),
        [(5, "£5 per session", "Per Saturday session, 10am to 3pm.")],
    ),
    (
        "playscheme",
        "Exampletown Inclusive Holiday Play Scheme (example data)",
        "holiday_activities",
        ["communication_and_interaction", "social_emotional_mental_health", "sensory_and_physical"],
        "play",
        "play",
        5,
        16,
        "active",
        "Inclusive play scheme in the Easter and summer holidays, with extra staff for children with SEND. Book online or by phone.",
        "playscheme@example.org",
        ("Bookings", "Holiday play scheme bookings", "01632 960441"),
        [
            (15, "£15 per day", "Standard daily rate."),
            (0, "Free", "Free places for children eligible for benefits-related free school meals."),
        ],
    ),
    (
        "youth",
        "Exampletown Friday Youth Club for Disabled Young People (example data)",
        "short_breaks",
        ["communication_and_interaction", "cognition_and_learning"],
        "play",
        "play",
        11,
        19,
        "inactive",
        "Weekly evening youth club for disabled young people. This club has closed and is no longer taking bookings.",
        "youth.club@example.org",
        ("Youth worker", "Youth club", "01632 960442"),
        [(3, "£3 per session", "Per evening session.")],
    ),
    (
        "coffee",
        "Example Borough Parent Carer Coffee Morning and Support Group (example data)",
        "parent_support",
        [
            "communication_and_interaction",
            "cognition_and_learning",
            "social_emotional_mental_health",
            "sensory_and_physical",
        ],
        "pcf",
        "hub",
        0,
        25,
        "active",
        "Monthly coffee morning and support group for parents and carers of children with SEND, with or without a diagnosis. Just drop in; no referral needed.",
        "hello@example.org",
        ("Forum co-ordinator", "Parent carer forum", "01632 960450"),
        [(0, "Free", "Free for parents and carers.")],
    ),
    (
        "sendiass",
        "Example Borough SENDIASS: SEND Information, Advice and Support (example data)",
        "information_advice",
        [
            "communication_and_interaction",
            "cognition_and_learning",
            "social_emotional_mental_health",
            "sensory_and_physical",
        ],
        "sendiass",
        "civic",
        0,
        25,
        "active",
        "Free, impartial and confidential advice about SEND, EHC plans, school support and disagreements, for parents and young people up to 25. Contact the helpline or email directly.",
        "sendiass@example.org",
        ("Helpline", "SENDIASS helpline", "01632 960300"),
        [(0, "Free", "Free and confidential.")],
    ),
]


def address(lk):
    name, line1, pc = LOCS[lk]
    return {
        "id": uid("address", lk),
        "address_1": line1,
        "city": "Exampletown",
        "state_province": "Example County",
        "postal_code": pc,
        "country": "GB",
        "address_type": "physical",
    }


contents = []
for slug, name, st, needs, ok, lk, mn, mx, status, desc, email, (cname, ctitle, cphone), costs in S:
    oname, odesc, oweb = ORGS[ok]
    assured = "2026-09-15" if ok == "health" else "2026-10-01"
    svc = {
        "id": uid("service", slug),
        "name": name,
        "description": desc,
        "url": f"https://example.org/council/local-offer/services/{slug.replace('_', '-')}",
        "email": email,
        "status": status,
        "minimum_age": mn,
        "maximum_age": mx,
        "assured_date": assured,
        "last_modified": f"{assured}T09:00:00Z",
        "organization": {"id": uid("organization", ok), "name": oname, "description": odesc, "website": oweb},
        "contacts": [
            {
                "id": uid("contact", slug),
                "name": cname,
                "title": ctitle,
                "phones": [{"id": uid("phone", slug), "number": cphone}],
            }
        ],
        "cost_options": [
            {"id": uid("cost_option", slug, str(i)), "amount": amt, "amount_description": ad, "option": opt}
            for i, (amt, ad, opt) in enumerate(costs)
        ],
        "service_at_locations": [
            {
                "id": uid("service_at_location", slug, lk),
                "location": {
                    "id": uid("location", lk),
                    "location_type": "physical",
                    "name": LOCS[lk][0],
                    "addresses": [address(lk)],
                },
            }
        ],
        "attributes": [
            {
                "id": uid("attribute", slug, "service_type", st),
                "link_type": "service_type",
                "taxonomy_term": term("example-send-service-types", st, ST[st], ST_DESC[st]),
            }
        ]
        + [
            {
                "id": uid("attribute", slug, "eligibility", n),
                "link_type": "eligibility",
                "taxonomy_term": term("send-areas-of-need", n, AN[n], AN_DESC[n]),
            }
            for n in needs
        ],
    }
    contents.append(svc)

out = {
    "total_items": len(contents),
    "total_pages": 1,
    "page_number": 1,
    "size": len(contents),
    "first_page": True,
    "last_page": True,
    "empty": False,
    "contents": contents,
}
with open(ROOT / "school_data/example_local_offer.json", "w", encoding="utf-8") as f:
    json.dump(out, f, indent=2, ensure_ascii=False)
    f.write("\n")
