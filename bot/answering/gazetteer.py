"""Place names the reader recognises as places: countries, US states, regions and large cities.

A gazetteer is the classic way to type names without a tagger: "Venezuela" and "Las Vegas" are
places whatever words stand around them. The list is short on purpose (what news names most);
names outside it are typed by their words and context instead (`reader.name_spans`).
"""

from __future__ import annotations

_COUNTRIES = """
afghanistan, albania, algeria, andorra, angola, antigua, argentina, armenia, australia, austria,
azerbaijan, bahamas, bahrain, bangladesh, barbados, belarus, belgium, belize, benin, bhutan, bolivia,
bosnia, botswana, brazil, brunei, bulgaria, burkina faso, burundi, cambodia, cameroon, canada,
cape verde, chad, chile, china, colombia, comoros, congo, costa rica, croatia, cuba, cyprus, czechia,
czech republic, denmark, djibouti, dominica, dominican republic, ecuador, egypt, el salvador, eritrea,
estonia, eswatini, ethiopia, fiji, finland, france, gabon, gambia, georgia, germany, ghana, greece,
grenada, guatemala, guinea, guyana, haiti, honduras, hungary, iceland, india, indonesia, iran, iraq,
ireland, israel, italy, ivory coast, jamaica, japan, jordan, kazakhstan, kenya, kiribati, kosovo,
kuwait, kyrgyzstan, laos, latvia, lebanon, lesotho, liberia, libya, liechtenstein, lithuania,
luxembourg, madagascar, malawi, malaysia, maldives, mali, malta, mauritania, mauritius, mexico,
micronesia, moldova, monaco, mongolia, montenegro, morocco, mozambique, myanmar, burma, namibia, nauru,
nepal, netherlands, new zealand, nicaragua, niger, nigeria, north korea, north macedonia, norway, oman,
pakistan, palau, palestine, panama, papua new guinea, paraguay, peru, philippines, poland, portugal,
qatar, romania, russia, rwanda, samoa, san marino, saudi arabia, senegal, serbia, seychelles,
sierra leone, singapore, slovakia, slovenia, somalia, south africa, south korea, south sudan, spain,
sri lanka, sudan, suriname, sweden, switzerland, syria, taiwan, tajikistan, tanzania, thailand,
timor-leste, togo, tonga, trinidad, tunisia, turkey, turkiye, turkmenistan, tuvalu, uganda, ukraine,
united arab emirates, uae, united kingdom, britain, great britain, england, scotland, wales,
northern ireland, united states, america, usa, us, u.s, uk, u.k, korea, holland, uruguay, uzbekistan,
vanuatu, vatican, venezuela,
vietnam, yemen, zambia, zimbabwe, greenland, hong kong, macau, puerto rico, gaza, west bank, crimea,
kashmir, tibet
"""
_US_STATES = """
alabama, alaska, arizona, arkansas, california, colorado, connecticut, delaware, florida, hawaii,
idaho, illinois, indiana, iowa, kansas, kentucky, louisiana, maine, maryland, massachusetts, michigan,
minnesota, mississippi, missouri, montana, nebraska, nevada, new hampshire, new jersey, new mexico,
new york, north carolina, north dakota, ohio, oklahoma, oregon, pennsylvania, rhode island,
south carolina, south dakota, tennessee, texas, utah, vermont, virginia, washington, west virginia,
wisconsin, wyoming
"""
_REGIONS = """
africa, asia, europe, antarctica, oceania, arctic, middle east, latin america, south america,
north america, central america, caribbean, balkans, scandinavia, siberia, sahara, sahel,
southeast asia, east asia, southeast, midwest, new england
"""
_CITIES = """
london, paris, berlin, madrid, rome, moscow, kyiv, kiev, beijing, shanghai, tokyo, osaka, seoul, delhi,
new delhi, mumbai, karachi, lahore, dhaka, bangkok, jakarta, manila, hanoi, sydney, melbourne,
auckland, cairo, lagos, nairobi, johannesburg, cape town, istanbul, ankara, tehran, baghdad, damascus,
beirut, jerusalem, tel aviv, riyadh, dubai, abu dhabi, doha, mexico city, toronto, vancouver, montreal,
ottawa, chicago, los angeles, san francisco, seattle, boston, miami, atlanta, houston, dallas, denver,
phoenix, las vegas, philadelphia, detroit, new orleans, brussels, amsterdam, vienna, prague, warsaw,
budapest, athens, lisbon, dublin, edinburgh, glasgow, manchester, birmingham, liverpool, leicester,
stockholm, oslo, copenhagen, helsinki, geneva, zurich, milan, naples, barcelona, munich, frankfurt,
hamburg, kabul, islamabad, taipei, buenos aires, rio de janeiro, sao paulo, lima, bogota, santiago,
caracas, havana, kingston
"""


def _names(*blocks: str) -> frozenset[str]:
    return frozenset(" ".join(name.split()) for block in blocks for name in block.split(",")) - {""}


PLACES = _names(_COUNTRIES, _US_STATES, _REGIONS, _CITIES)
"""Lowercase place names, words separated by single spaces."""
KINDS_OF_PLACE = {"country": _names(_COUNTRIES), "nation": _names(_COUNTRIES), "state": _names(_US_STATES)}
"""The places of the gazetteer that a question's focus noun asks for ("which country"): countries,
and states (of the US: the list has no others)."""
WHOLE_KINDS_OF_PLACE = frozenset({"country", "nation"})
"""The kinds of place the gazetteer lists in full: "which country" is answered by one of its countries
or not at all; a state may be of another country than the US."""
_CITY_STATES = frozenset({"singapore", "hong kong", "macau", "monaco", "vatican", "san marino", "gaza"})
LANDS = _names(_COUNTRIES, _REGIONS) - _CITY_STATES
"""Countries and regions that are not cities too: no answer to "which city"."""
